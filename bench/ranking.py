"""Benchmark: does the typeahead rank as a person expects? Against two references on the same names.

    .venv/bin/python bench/ranking.py            # 20,000 + 2,000 software (real names among them), 50,000 computers
    .venv/bin/python bench/ranking.py --small    # 10x smaller catalog, fewer fragments (the smoke test)

The catalogs: ~130 real product names (with their look-alikes: "Notepad" next to "Notepad++", the
x86 next to the x64 C++ runtime) among the generated catalog (`immybot_slack_sandbox.immy_data`), and the
generated fleet. The queries (`SOFTWARE_QUERIES`, and computer queries made from real fleet names
with a fixed seed) are what a technician types: exact names in any case, the start of a name, words
in another order, without or with other punctuation and spacing, a typo of one or two letters.
Each has one expected NAME (any item of that name counts: the generated catalog repeats names).

Figures, per kind and overall: top-1 (the expected name first), top-5, MRR (1/rank of the first
expected name within the 100 options, 0 if absent), for the bot and two references computed in
this run on the same names:

* `substring`: the names containing the query, case-insensitively, alphabetical;
* `wratio`: `rapidfuzz.process.extract(query, names, scorer=WRatio, processor=default_process, limit=100)`.

`non_matching`: options that match their query in no way (judged here, independently of the bot:
the query is not in the option's letters and digits, nor a subsequence of them, and some query
word is neither in them nor within 1 edit (words up to 5 characters) or 2 edits of a word of the
option's name or tenant, or of such a word's start), over the evaluation queries and `--fragments`
random 2–5 character slices of real names per kind; for the rapidfuzz reference, over the first 200.
Goals (issue 16): bot ahead of both references on top-1 and MRR, top-1 >=
0.95, MRR >= 0.95, 0 non-matching options. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA

from bot.immybot.catalog import CatalogCache
from bot.immybot.models import ComputerRow, SoftwareItem
from bot.workflow.model import Catalog
from immybot_slack_sandbox.immy_data import generate

LIMIT = 100
GOALS = {"top1_min": 0.95, "mrr_min": 0.95, "non_matching_max": 0}
VC64 = "Microsoft Visual C++ 2015-2022 Redistributable (x64)"
VC86 = "Microsoft Visual C++ 2015-2022 Redistributable (x86)"
REAL_SOFTWARE = (
    "Google Chrome", "Google Chrome Enterprise", "Chrome Remote Desktop Host", "Google Drive", "Google Earth Pro",
    "Mozilla Firefox", "Mozilla Firefox ESR", "Mozilla Thunderbird", "Microsoft Edge",
    "Microsoft Edge WebView2 Runtime", "7-Zip", "WinZip", "WinRAR", "PeaZip", "Notepad++", "Notepad", "Notepad3",
    "Adobe Acrobat Reader DC", "Adobe Acrobat DC", "Adobe Acrobat Reader", "Adobe Creative Cloud",
    "Adobe Photoshop 2024", VC64, VC86, "Microsoft Visual C++ 2013 Redistributable (x64)",
    "Microsoft Visual C++ 2013 Redistributable (x86)", "Microsoft Visual C++ 2010 Redistributable (x64)",
    "Microsoft .NET Desktop Runtime 8", "Microsoft .NET Framework 4.8", "Microsoft Teams", "Microsoft Teams Classic",
    "Microsoft 365 Apps for enterprise", "Microsoft OneDrive", "Visual Studio Code", "Microsoft Visual Studio 2022",
    "Microsoft Power BI Desktop", "Microsoft PowerToys", "Windows Terminal", "PowerShell 7", "Zoom Workplace",
    "Zoom Outlook Plugin", "Cisco Webex Meetings", "Cisco Secure Client", "Slack", "Discord", "Spotify",
    "VLC media player", "Audacity", "GIMP", "Inkscape", "Paint.NET", "ShareX", "Greenshot", "PuTTY", "WinSCP",
    "FileZilla Client", "Wireshark", "Nmap", "Git", "GitHub Desktop", "TortoiseGit", "TortoiseSVN", "Python 3.12",
    "Python 3.11", "Node.js LTS", "Docker Desktop", "Java 8 Update 401", "Eclipse Temurin JDK 17",
    "Amazon Corretto 17", "TeamViewer", "TeamViewer Host", "AnyDesk", "Splashtop Streamer",
    "ConnectWise Control Client", "Dell Command | Update", "Dell SupportAssist", "HP Support Assistant",
    "Lenovo System Update", "Lenovo Vantage", "Foxit PDF Reader", "Nitro PDF Pro", "Bluebeam Revu 21", "PDF24 Creator",
    "KeePass Password Safe", "KeePassXC", "Bitwarden", "1Password", "LastPass", "Malwarebytes", "Huntress Agent",
    "SentinelOne Agent", "CrowdStrike Falcon Sensor", "Sophos Endpoint Agent", "ESET Endpoint Security",
    "Veeam Agent for Microsoft Windows", "Acronis Cyber Protect", "QuickBooks Desktop 2024", "Sage 50 Accounting",
    "AutoCAD 2024", "SketchUp 2024", "Citrix Workspace App", "VMware Horizon Client",
    "Remote Desktop Connection Manager", "Dropbox", "Box Drive", "Egnyte Desktop App", "LibreOffice",
    "Apache OpenOffice", "Logitech Options+", "Everything", "WinDirStat", "TreeSize Free", "CCleaner", "OBS Studio",
    "Camtasia 2023", "Snagit 2024", "Microsoft SQL Server Management Studio", "Microsoft Azure CLI",
    "Microsoft Remote Desktop", "Microsoft Visio", "Microsoft Project", "Zoom Rooms",
)  # fmt: skip
SOFTWARE_QUERIES: dict[str, list[tuple[str, str]]] = {  # kind → [(query, expected name)]
    "exact": [("VLC media player", "VLC media player"), ("everything", "Everything"),
              ("Microsoft Edge", "Microsoft Edge"), ("Google Chrome", "Google Chrome"),
              ("google chrome", "Google Chrome"), ("7-Zip", "7-Zip"), ("notepad++", "Notepad++"),
              ("Notepad", "Notepad"), ("ADOBE ACROBAT READER DC", "Adobe Acrobat Reader DC"),
              ("microsoft visual c++ 2015-2022 redistributable (x64)", VC64), ("git", "Git"), ("slack", "Slack"),
              ("putty", "PuTTY"), ("winscp", "WinSCP"), ("Microsoft Teams", "Microsoft Teams"),
              ("mozilla firefox", "Mozilla Firefox")],
    "prefix": [("microsoft ed", "Microsoft Edge"), ("zoom work", "Zoom Workplace"),
               ("adobe acrobat r", "Adobe Acrobat Reader"), ("cisco secure", "Cisco Secure Client"),
               ("treesize", "TreeSize Free"), ("windirst", "WinDirStat"), ("java 8", "Java 8 Update 401"),
               ("google chr", "Google Chrome"), ("adobe acrobat reader d", "Adobe Acrobat Reader DC"),
               ("notepad+", "Notepad++"), ("7-z", "7-Zip"), ("filezil", "FileZilla Client"), ("wiresh", "Wireshark"),
               ("thunderb", "Mozilla Thunderbird"), ("teamview", "TeamViewer"), ("keepass", "KeePass Password Safe"),
               ("bitward", "Bitwarden"), ("powersh", "PowerShell 7"), ("crowdstrike fal", "CrowdStrike Falcon Sensor"),
               ("vlc", "VLC media player"), ("obs stu", "OBS Studio"), ("dell command", "Dell Command | Update"),
               ("visual studio co", "Visual Studio Code"), ("firefox es", "Mozilla Firefox ESR"),
               ("greensh", "Greenshot"), ("libreof", "LibreOffice"),
               ("sql server manag", "Microsoft SQL Server Management Studio")],
    "any_order": [("edge microsoft", "Microsoft Edge"), ("studio code visual", "Visual Studio Code"),
                  ("client filezilla", "FileZilla Client"), ("agent huntress", "Huntress Agent"),
                  ("2024 sketchup", "SketchUp 2024"), ("chrome google", "Google Chrome"),
                  ("reader acrobat dc", "Adobe Acrobat Reader DC"), ("acrobat reader dc", "Adobe Acrobat Reader DC"),
                  ("c++ 2015 x64", VC64), ("c++ 2015 x86", VC86), ("redistributable 2015 x64", VC64),
                  ("visual c++ 2013 x64", "Microsoft Visual C++ 2013 Redistributable (x64)"),
                  ("firefox esr", "Mozilla Firefox ESR"), ("teams classic", "Microsoft Teams Classic"),
                  ("falcon crowdstrike", "CrowdStrike Falcon Sensor"), ("desktop docker", "Docker Desktop"),
                  ("python 3.12", "Python 3.12"), ("net framework 4.8", "Microsoft .NET Framework 4.8"),
                  ("update dell command", "Dell Command | Update"), ("zoom outlook", "Zoom Outlook Plugin"),
                  ("horizon vmware", "VMware Horizon Client"), ("sentinelone agent", "SentinelOne Agent"),
                  ("veeam agent windows", "Veeam Agent for Microsoft Windows")],
    "punctuation": [("power toys", "Microsoft PowerToys"), ("team viewer", "TeamViewer"),
                    ("git hub desktop", "GitHub Desktop"), ("webview 2", "Microsoft Edge WebView2 Runtime"),
                    ("share-x", "ShareX"), ("7zip", "7-Zip"), ("7 zip", "7-Zip"), ("notepad ++", "Notepad++"),
                    ("googlechrome", "Google Chrome"), ("dell command update", "Dell Command | Update"),
                    ("c++ 2015-2022 (x64)", VC64), ("visual c 2015 2022 x64", VC64), ("paint net", "Paint.NET"),
                    ("paintnet", "Paint.NET"), ("node js", "Node.js LTS"), ("nodejs", "Node.js LTS"),
                    ("1 password", "1Password"), ("pdf 24", "PDF24 Creator"), ("  google   chrome ", "Google Chrome"),
                    ("win-scp", "WinSCP"), ("logitech options +", "Logitech Options+"), ("share x", "ShareX")],
    "typo": [("microsft edge", "Microsoft Edge"), ("vlc media playr", "VLC media player"),
             ("gihtub desktop", "GitHub Desktop"), ("quickboks desktop", "QuickBooks Desktop 2024"),
             ("dropbx", "Dropbox"), ("keepass pasword", "KeePass Password Safe"), ("gogle chrome", "Google Chrome"),
             ("google chrmoe", "Google Chrome"), ("notpad++", "Notepad++"),
             ("acrobt reader dc", "Adobe Acrobat Reader DC"), ("adobe acrobat raeder dc", "Adobe Acrobat Reader DC"),
             ("mozila firefox", "Mozilla Firefox"), ("thunderbrid", "Mozilla Thunderbird"), ("wireshrak", "Wireshark"),
             ("filezila", "FileZilla Client"), ("teamveiwer", "TeamViewer"), ("bitwarde", "Bitwarden"),
             ("crowdstrke falcon", "CrowdStrike Falcon Sensor"), ("redistributible 2015 x64", VC64),
             ("libreofice", "LibreOffice"), ("audacty", "Audacity"), ("malwarebites", "Malwarebytes"),
             ("inkscpae", "Inkscape"), ("spotfy", "Spotify")],
}  # fmt: skip


def computer_queries(names: Sequence[str], rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Queries for real fleet names: as typed from a label, in another case or spacing, all but its
    last characters or its random part alone (names that are unique by then), words in another
    order, two letters swapped."""
    tenant_style = sorted(n for n in set(names) if re.fullmatch(r"[A-Z]+-[A-Z]+-\d{4}", n))
    desktops = sorted(n for n in set(names) if re.fullmatch(r"(DESKTOP|LAPTOP)-[A-Z0-9]{7}", n))
    out: dict[str, list[tuple[str, str]]] = {"exact": [], "prefix": [], "any_order": [], "punctuation": [], "typo": []}
    for name in ["CONTOSO-LT-0004", *rng.sample(tenant_style, 12)]:
        code, kind, serial = name.split("-")
        out["exact"].append((name.lower(), name))
        out["any_order"].append((f"{serial} {code.lower()} {kind.lower()}", name))
        out["punctuation"] += [(f"{code} {kind} {serial}".lower(), name), (f"{code}{kind}{serial}".lower(), name)]
        if len(code) >= 6:
            i = rng.randrange(1, len(code) - 2)
            out["typo"].append((f"{code[:i]}{code[i + 1]}{code[i]}{code[i + 2 :]}-{kind}-{serial}".lower(), name))
    for name in rng.sample(desktops, 12):
        prefix, suffix = name.split("-")
        out["exact"].append((name, name))
        out["prefix"] += [(name[:-2].lower(), name), (suffix, name)]  # suffix: what is read off a sticker
        out["punctuation"].append((f"{prefix} {suffix}".lower(), name))
        i = rng.randrange(1, 6)
        out["typo"].append((f"{suffix[:i]}{suffix[i + 1]}{suffix[i]}{suffix[i + 2 :]}".lower(), name))
    return out


# ---- the references and the judge (none of the bot's code) ----------------------------------------


def substring_reference(names: Sequence[str]) -> Callable[[str], list[str]]:
    lowered = [(n.lower(), n) for n in sorted(set(names), key=str.lower)]
    return lambda q: [n for low, n in lowered if q.lower() in low][:LIMIT]


def wratio_reference(names: Sequence[str]) -> Callable[[str], list[str]]:
    unique = sorted(set(names))
    return lambda q: [n for n, _, _ in process.extract(q, unique, scorer=fuzz.WRatio, processor=utils.default_process,
                                                        limit=LIMIT)]  # fmt: skip


def _alnum(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def matches_somehow(query: str, shown: str) -> bool:
    """The judge: is the option `shown` (name, or name and tenant) related to `query` at all? The
    query as a whole is in it (letters and digits compared) or a subsequence of it; or each of
    its words, in any order, is in it or a close typo of a word of it (or of a word's start)."""
    q, text = _alnum(query), _alnum(shown)
    if not q or q in text:
        return True
    it = iter(text)
    if all(ch in it for ch in q):  # a subsequence
        return True
    tokens = re.findall(r"[^\W_]+", shown.lower())
    for word in re.findall(r"[^\W_]+", query.lower()):
        budget = 1 if len(word) <= 5 else 2
        if word not in text and not any(OSA.distance(word, t[: len(word) + extra], score_cutoff=budget) <= budget
                                        for t in tokens for extra in (0, 1, len(t))):  # fmt: skip
            return False
    return True


# ---- scoring ---------------------------------------------------------------------------------------


def grade(search: Callable[[str], list[str]], queries: dict[str, list[tuple[str, str]]]
          ) -> tuple[dict[str, Any], list[int | None]]:  # fmt: skip
    """(figures overall and by kind of query, the rank of the expected name for each query)."""
    by_kind: dict[str, dict[str, float]] = {}
    ranks: list[int | None] = []
    for kind, pairs in queries.items():
        kind_ranks = []
        for query, expected in pairs:
            answer = search(query)
            wanted = _alnum(expected)  # "Dell Command Update" is "Dell Command | Update" for every method
            kind_ranks.append(next((i + 1 for i, name in enumerate(answer) if _alnum(name) == wanted), None))
        by_kind[kind] = _figures(kind_ranks)
        ranks += kind_ranks
    return {**_figures(ranks), "by_kind": by_kind}, ranks


def _figures(ranks: list[int | None]) -> dict[str, Any]:
    n = len(ranks) or 1
    return {"queries": len(ranks), "top1": round(sum(r == 1 for r in ranks) / n, 3),
            "top5": round(sum(r is not None and r <= 5 for r in ranks) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 3)}  # fmt: skip


def fragments(names: Sequence[str], count: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        name = rng.choice(names).lower()
        size = rng.randint(2, 5)
        if len(name) >= size:
            start = rng.randint(0, len(name) - size)
            if (fragment := name[start : start + size].strip()) and _alnum(fragment):
                out.append(fragment)
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10x smaller catalog, 100 fragments")
    parser.add_argument("--fragments", type=int, default=1000, help="random fragment queries per kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    scale = 10 if args.small else 1
    if args.small:
        args.fragments = min(args.fragments, 100)
    data = generate(args.seed, computers=50_000 // scale, global_software=20_000 // scale,
                    local_software=2_000 // scale, tenants=120)  # fmt: skip
    software = [SoftwareItem(id=s["id"], name=s["name"], catalog=Catalog.GLOBAL) for s in data.global_software]
    software += [SoftwareItem(id=s["id"], name=s["name"], catalog=Catalog.LOCAL) for s in data.local_software]
    software += [SoftwareItem(id=100_000 + i, name=n, catalog=Catalog.GLOBAL) for i, n in enumerate(REAL_SOFTWARE)]
    computers = [ComputerRow(id=c["id"], name=c["computerName"], tenant_id=c["tenantId"], tenant_name=c["tenantName"],
                             online=c["isOnline"]) for c in data.computers]  # fmt: skip
    cache = CatalogCache.from_rows(software, computers)
    rng = random.Random(args.seed)
    software_names, computer_names = [s.name for s in software], [c.name for c in computers]
    query_sets = {"software": SOFTWARE_QUERIES, "computers": computer_queries(computer_names, rng)}
    ours: dict[str, Callable[[str], list[str]]] = {
        "software": lambda q: [s.name for s in cache.search_software(q, LIMIT)],
        "computers": lambda q: [c.name for c in cache.search_computers(q, LIMIT)],
    }
    result: dict[str, Any] = {"bench": "ranking", "software": len(software), "computers": len(computers),
                              "limit": LIMIT, "fragments_per_kind": args.fragments}  # fmt: skip
    for method, make in (("bot", None), ("substring", substring_reference), ("wratio", wratio_reference)):
        graded: dict[str, Any] = {}
        everything: list[int | None] = []
        for kind, names in (("software", software_names), ("computers", computer_names)):
            search = ours[kind] if make is None else make(names)
            graded[kind], ranks = grade(search, query_sets[kind])
            everything += ranks
        graded["overall"] = _figures(everything)
        result[method] = graded
    result["non_matching"] = non_matching(cache, query_sets, software_names, computer_names, args.fragments, rng)
    bot, subs, wr = result["bot"]["overall"], result["substring"]["overall"], result["wratio"]["overall"]
    result["goals"] = GOALS
    result["ok"] = (bot["top1"] > max(subs["top1"], wr["top1"]) and bot["mrr"] > max(subs["mrr"], wr["mrr"])
                    and bot["top1"] >= GOALS["top1_min"] and bot["mrr"] >= GOALS["mrr_min"]
                    and result["non_matching"]["bot"]["options"] == 0)  # fmt: skip
    print(json.dumps(result, separators=(",", ":")))
    return result


def non_matching(cache: CatalogCache, query_sets: dict[str, dict[str, list[tuple[str, str]]]],
                 software_names: list[str], computer_names: list[str], count: int,
                 rng: random.Random) -> dict[str, Any]:  # fmt: skip
    """Options that match their query in no way, over the evaluation queries and random fragments."""
    kinds = {
        "software": ([q for pairs in query_sets["software"].values() for q, _ in pairs]
                     + fragments(software_names, count, rng),
                     lambda q: [s.name for s in cache.search_software(q, LIMIT)], software_names),
        "computers": ([q for pairs in query_sets["computers"].values() for q, _ in pairs]
                      + fragments(computer_names, count, rng),
                      lambda q: [f"{c.name} {c.tenant_name or ''}" for c in cache.search_computers(q, LIMIT)],
                      computer_names),
    }  # fmt: skip
    out: dict[str, Any] = {}
    wratio = {kind: wratio_reference(names) for kind, (_, _, names) in kinds.items()}
    for kind, (queries, search, _) in kinds.items():
        bad = [(q, o) for q in queries for o in search(q) if not matches_somehow(q, o)]
        answers = sum(1 for q in queries if any(not matches_somehow(q, o) for o in search(q)))
        sample = queries[: min(len(queries), 200)]
        ref_bad = sum(1 for q in sample if any(not matches_somehow(q, o) for o in wratio[kind](q)))
        out[kind] = {"queries": len(queries), "answers_with_one": answers, "options": len(bad), "examples": bad[:3],
                     "wratio_answers_with_one": ref_bad, "wratio_queries": len(sample)}  # fmt: skip
    out["bot"] = {"options": sum(v["options"] for v in out.values())}
    return out


if __name__ == "__main__":
    main()

"""Seeded, realistic ImmyBot data for the fake ImmyBot, the demo and the benchmark.

Rows are generated in ImmyBot's wire shapes (`GetGlobalSoftwareResponse`, dx `ComputerListViewModel`
rows, `GetTenantResponse`). Global and local software ids OVERLAP (both count from 1), as they do
in a real instance. A few fixed rows make tests readable:

* Global 714 "Google Chrome", Local 3 "Contoso VPN Client" (global id 3 is something else);
* person "Jane.Doe@Contoso.com" (mixed case) owns three computers spread far apart in the list;
* the first computers are `CONTOSO-LT-0001`… in tenant "Contoso Ltd".

`generate(computers=50_000, global_software=20_000, local_software=2_000)` takes well under a second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

TENANT_NAMES = (
    "Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works", "Tailspin Toys", "Wide World Importers",
    "Litware", "Proseware", "Woodgrove Bank", "Alpine Ski House", "Coho Winery", "Fourth Coffee",
    "Margie's Travel", "Blue Yonder Airlines", "Trey Research", "Lucerne Publishing", "Humongous Insurance",
    "Wingtip Toys", "Graphic Design Institute", "Consolidated Messenger", "City Power & Light", "Relecloud",
    "VanArsdel", "Bellows College", "First Up Consultants", "Nod Publishers", "Southridge Video",
    "Tailwind Traders", "Best For You Organics", "School of Fine Art",
)  # fmt: skip
VENDORS = (
    "Google", "Mozilla", "Adobe", "Microsoft", "Zoom", "Cisco", "Citrix", "VMware", "Oracle", "Dell", "HP", "Lenovo",
    "Intel", "NVIDIA", "Autodesk", "SolarWinds", "Sophos", "ESET", "Bitdefender", "Huntress", "SentinelOne",
    "CrowdStrike", "Datto", "N-able", "ConnectWise", "Splashtop", "TeamViewer", "AnyDesk", "Notepad++", "7-Zip",
    "VideoLAN", "Python", "Node.js", "Git", "Docker", "Slack", "Dropbox", "Box", "Egnyte", "Sage", "Intuit",
    "Bluebeam", "Foxit", "Nitro", "Kaseya", "Veeam", "Acronis", "Malwarebytes", "WatchGuard", "Fortinet",
)  # fmt: skip
PRODUCTS = (
    "Chrome", "Firefox", "Acrobat Reader", "Teams", "Workplace", "AnyConnect", "Workspace App", "Tools", "Java",
    "Command Update", "Support Assistant", "Vantage", "Driver Assistant", "GeForce Experience", "AutoCAD",
    "Agent", "Endpoint Protection", "Antivirus", "Sensor", "Backup Agent", "Remote Support", "Streamer",
    "Client", "Desktop", "Editor", "Player", "Runtime", "SDK", "Connect", "Sync", "Drive", "Accounting",
    "QuickBooks", "Revu", "PDF Editor", "PDF Pro", "Monitor", "Recovery", "Firewall Client", "VPN",
)  # fmt: skip
EDITIONS = ("", "", "", " x64", " x86", " Enterprise", " (Per-User)", " LTS", " 2024", " 2025", " Beta", " Pro", " MSI")
FIRST = (
    "Jane", "John", "Alex", "Maria", "Wei", "Aisha", "Carlos", "Olga", "Liam", "Noah", "Emma", "Ava", "Mateo",
    "Yuki", "Priya", "Omar", "Sven", "Chloe", "Hugo", "Zara", "Ivan", "Nina", "Kofi", "Leah", "Ravi", "Sara",
)  # fmt: skip
LAST = (
    "Doe", "Smith", "Garcia", "Chen", "Khan", "Novak", "Muller", "Rossi", "Kowalski", "Tanaka", "Patel", "Okafor",
    "Silva", "Johansson", "Dubois", "Nguyen", "Haddad", "Ivanova", "Brown", "Lopez", "Kim", "Singh", "Berg",
)  # fmt: skip
KINDS = ("LT", "WS", "DT", "PC", "SRV", "VM")


@dataclass
class ImmyData:
    tenants: list[dict[str, Any]] = field(default_factory=list)
    global_software: list[dict[str, Any]] = field(default_factory=list)
    local_software: list[dict[str, Any]] = field(default_factory=list)
    computers: list[dict[str, Any]] = field(default_factory=list)  # dx row shape
    persons: dict[int, dict[str, Any]] = field(default_factory=dict)

    def computer(self, computer_id: int) -> dict[str, Any] | None:
        return next((c for c in self.computers if c["id"] == computer_id), None)


def _domain(tenant: str) -> str:
    return "".join(ch for ch in tenant.split()[0] if ch.isalnum()) + ".com"


def _software_names(rng: random.Random, count: int, fixed: dict[int, str]) -> list[dict[str, Any]]:
    rows = []
    for sid in range(1, count + 1):
        name = fixed.get(sid) or f"{rng.choice(VENDORS)} {rng.choice(PRODUCTS)}{rng.choice(EDITIONS)}"
        rows.append({"id": sid, "identifier": str(sid), "name": name, "softwareType": None, "hidden": False})
    return rows


def generate(
    seed: int = 7,
    *,
    computers: int = 60,
    global_software: int = 60,
    local_software: int = 12,
    tenants: int = 6,
) -> ImmyData:
    rng = random.Random(seed)
    data = ImmyData()
    for tid in range(1, max(1, tenants) + 1):
        base = TENANT_NAMES[(tid - 1) % len(TENANT_NAMES)]
        name = base if tid <= len(TENANT_NAMES) else f"{base} {tid // len(TENANT_NAMES) + 1}"
        data.tenants.append({"id": tid, "name": name, "slug": name.lower().replace(" ", "-"), "active": True,
                             "isMsp": tid == 1, "parentTenantId": None, "ownerTenantId": None})  # fmt: skip
    fixed_global = {714: "Google Chrome", 3: "Mozilla Firefox", 1: "7-Zip", 2: "Adobe Acrobat Reader DC"}
    data.global_software = _software_names(rng, global_software, fixed_global)
    if global_software < 714:  # keep the famous id even in tiny catalogs
        data.global_software.append({"id": 714, "identifier": "714", "name": "Google Chrome", "hidden": False})
    data.local_software = _software_names(rng, local_software, {3: "Contoso VPN Client", 1: "Contoso Line of Business"})
    for row in data.global_software:
        row["softwareType"] = 0  # integers here (GetGlobalSoftwareResponse.softwareType)
    for row in data.local_software:
        row["softwareType"] = "LocalSoftware"  # names there: ImmyBot mixes both
        row["tenantSoftware"] = [1]
    _computers(rng, data, computers)
    return data


def _computers(rng: random.Random, data: ImmyData, count: int) -> None:
    jane = {"id": 1, "firstName": "Jane", "lastName": "Doe", "emailAddress": "Jane.Doe@Contoso.com", "tenantId": 1}
    data.persons[1] = jane
    jane_slots = {0, count // 2, count - 1} if count >= 3 else set(range(count))
    codes = {t["id"]: t["name"].split()[0].upper().replace("'", "")[:8] for t in data.tenants}
    serial = {t["id"]: 0 for t in data.tenants}
    people: dict[int, list[dict[str, Any]]] = {}
    for index in range(count):
        cid = index + 1
        if index in jane_slots:
            tenant = data.tenants[0]
            person = jane
        else:
            tenant = data.tenants[0] if index < 5 else rng.choice(data.tenants)
            person = _person(rng, data, tenant, people)
        serial[tenant["id"]] += 1
        style = rng.random()
        if index < 5 or style < 0.6:
            name = f"{codes[tenant['id']]}-{rng.choice(KINDS)}-{serial[tenant['id']]:04d}"
            if index < 5:
                name = f"CONTOSO-LT-{index + 1:04d}"
        elif style < 0.85:
            suffix = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(7))
            name = f"{rng.choice(('DESKTOP', 'LAPTOP'))}-{suffix}"
        else:
            name = f"{person['firstName'][0]}{person['lastName']}-{rng.choice(('PC', 'LT', 'MBP', 'SURFACE'))}".upper()
        data.computers.append(
            {
                "id": cid,
                "computerName": name,
                "tenantId": tenant["id"],
                "tenantName": tenant["name"],
                "isOnline": rng.random() < 0.7,
                "primaryPersonId": person["id"],
                "primaryUserEmail": person["emailAddress"],
                "primaryUserFirstName": person["firstName"],
                "primaryUserLastName": person["lastName"],
                "operatingSystem": rng.choice(("Windows 11 Pro", "Windows 10 Pro", "Windows Server 2022")),
                "onboardingStatus": 2,
                "activeSessionId": None,
                "excludeFromMaintenance": False,
                "lastProviderAgentEventDateUtc": f"2026-03-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
            }
        )


def _person(
    rng: random.Random, data: ImmyData, tenant: dict[str, Any], people: dict[int, list[dict[str, Any]]]
) -> dict[str, Any]:
    colleagues = people.setdefault(tenant["id"], [])
    if colleagues and rng.random() < 0.3:  # some people own several computers
        return rng.choice(colleagues[-40:])
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = f"{first}.{last}"
    local = rng.choice((local, local.lower(), local.upper()))  # mixed-case emails, as synced from Entra
    pid = len(data.persons) + 1
    person = {"id": pid, "firstName": first, "lastName": last, "tenantId": tenant["id"],
              "emailAddress": f"{local}{pid}@{_domain(tenant['name'])}"}  # fmt: skip
    data.persons[pid] = person
    colleagues.append(person)
    return person

"""Doctor checks for ImmyBot: can we mint a token, and does ImmyBot accept it for one real read?"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from bot.config import Settings
from bot.doctor import Check
from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import ImmyAuthError, ImmyBotError, ImmyForbidden
from bot.immybot.transport import RetryPolicy
from bot.workflow.model import Catalog

DOCTOR_RETRY = RetryPolicy(attempts=2, base_seconds=0.5, cap_seconds=2.0, max_retry_after=5.0)


async def immybot_checks(settings: Settings) -> AsyncIterator[Check]:
    async with ImmyBotClient(settings, retry=DOCTOR_RETRY) as client:
        try:
            await client.token()
        except ImmyAuthError as error:
            yield Check("Entra token", False, str(error), error.fix)
            return
        except ImmyBotError as error:  # the authority is unreachable
            yield Check("Entra token", False, str(error), error.fix)
            return
        yield Check("Entra token", True, f"token minted for {settings.immybot_scope}")
        try:
            global_sw, local_sw = await asyncio.gather(
                client.list_software(Catalog.GLOBAL), client.list_software(Catalog.LOCAL)
            )
            computers = await client.list_computers()
        except ImmyForbidden as error:
            yield Check("ImmyBot API", False, f"{settings.base_url}: {error}", error.fix)
            return
        except ImmyBotError as error:
            yield Check("ImmyBot API", False, str(error), error.fix)
            return
        yield Check(
            "ImmyBot API",
            True,
            f"{settings.base_url}: {len(global_sw)} global and {len(local_sw)} local software, "
            f"{len(computers)} computers",
        )

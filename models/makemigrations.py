"""Regenerates 0001_initial from the models: `make migrations`.

Only until the first release: after that, new migrations are added with `tortoise makemigrations`
and hand-written ones (like 0002_section_indexes) stay as they are.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from models.db import tortoise_config

MIGRATIONS = Path(__file__).parent / "migrations"


async def main() -> None:
    initial = MIGRATIONS / "0001_initial.py"
    hand_written = [p for p in MIGRATIONS.glob("0*.py") if p != initial]
    parked = {p: p.read_text() for p in hand_written}
    for path in hand_written:
        path.unlink()
    initial.unlink(missing_ok=True)
    try:
        config = tortoise_config("sqlite://:memory:")
        await Tortoise.init(config=config, init_connections=False)
        writers = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
        for writer in writers:
            writer.name = "0001_initial"
            print("wrote", writer.write())
    finally:
        for path, text in parked.items():
            path.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())

"""The post's menus answer a ``hotpapers run`` process that was killed and started again after posting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cogs.test_cogs_post import pick, unescaped
from tests.engines import CHILD_PROCESS
from tests.fakes.discord import FakeDiscord
from tests.harness import BotProcess, make_paper, seed_store, text_of
from tests.process.test_bot_process import SLOT, _configure


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_the_abstract_menu_answers_after_the_bot_process_is_killed_and_restarted(
    world: FakeDiscord, tmp_path: Path
) -> None:
    w = world.world
    abstract = "We build a thing. " + "It has many properties worth a whole paragraph. " * 30
    papers = [make_paper(f"2611.{40000 + i}", f"Paper {i}", abstract=abstract,
                         authors=tuple(f"Author{j} Family{j}" for j in range(30))) for i in range(5)]
    seed = seed_store(tmp_path / "hotpapers.db", papers=papers)
    _configure(seed.db, w.papers.id, w.guild.id)
    bot = BotProcess(world, seed.db, tmp_path, start_time=SLOT)
    try:
        await bot.start()
        message = await world.wait_for_message(w.papers, timeout=10)
        bot.kill()
        await bot.start()
        answers = await pick(world, message, "hp:abs-menu", papers[2].id, w.member)
        shown = unescaped(text_of(answers[0]))
        assert answers[0].ephemeral and "Author29 Family29" in shown and " ".join(abstract.split()) in shown
        assert await bot.terminate() == 0
    finally:
        bot.close()


"""The real models over the dated Nébula corpus: the revised loss forecast (issue 16)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.settings import Settings

pytestmark = pytest.mark.slow

NEWS = Path(__file__).resolve().parent / "data" / "news"


def test_real_revised_loss_forecast(tmp_path):
    docs = tmp_path / "news"
    shutil.copytree(NEWS, docs)
    assistant = Assistant(Settings(index_dir=str(tmp_path / "index"), docs_dir=str(docs)))
    ans = assistant.ask("Quelle perte nette Nébula Robotique prévoit-elle pour 2024 ?")
    print(ans.answer)
    for c in ans.citations:
        print(f"  [{c.marker}] {c.doc_id} {c.date} ({c.date_source}) « {c.quote} »")
    assert not ans.abstained, ans.answer
    by_value = {}
    for value in ("65 millions", "40 millions"):
        cited = [c for c in ans.citations if c.supported and value in c.quote]
        assert cited, (value, ans.answer)
        by_value[value] = cited[0]
        assert f"[{cited[0].marker}]" in ans.answer
    assert by_value["65 millions"].date == "2024-09-02" and by_value["40 millions"].date.startswith("2024-03")
    assert "2 septembre 2024" in ans.answer and "mars 2024" in ans.answer
    # 65 M€ is given as the current figure, 40 M€ beside it as the earlier one.
    assert ans.answer.index("65 millions") < ans.answer.rindex("40 millions")

from __future__ import annotations

import argparse

import pytest

from rag.errors import ConfigError
from rag.settings import Settings, add_settings_args, settings_from_args


def test_env_then_flags_precedence():
    s = Settings.from_env({"RAG_K": "7", "RAG_INDEX_DIR": "/tmp/x", "RAG_SHARE": "yes"})
    assert (s.k, s.index_dir, s.share) == (7, "/tmp/x", True)
    parser = argparse.ArgumentParser()
    add_settings_args(parser)
    args = parser.parse_args(["--k", "3", "--model", "small"])
    s2 = settings_from_args(args)
    assert s2.k == 3 and s2.model == "small"


@pytest.mark.parametrize("kw", [{"k": 0}, {"chunk_overlap": 600}, {"answer_language": "de"}])
def test_invalid_settings(kw):
    with pytest.raises(ConfigError):
        Settings(**kw)


def test_bad_env_value():
    with pytest.raises(ConfigError, match="RAG_K"):
        Settings.from_env({"RAG_K": "many"})

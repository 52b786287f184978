"""The README's settings table is what `tap-batchimport --about --format=markdown` prints."""

from __future__ import annotations

from scripts.readme_settings import README, about_settings_table, readme_settings_table


def test_readme_settings_table_matches_about():
    table = about_settings_table()
    assert "| fullstory_api_key |" in table
    assert "| druid_client_secret |" in table
    assert "| sailpoint_api_version |" in table
    assert readme_settings_table(README.read_text(encoding="utf-8")) == table, (
        "run: python scripts/readme_settings.py"
    )

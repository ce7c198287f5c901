"""`balafon teams-package`: the manifest template filled in, validated and zipped."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from adapters.teams.package import PackageError, build_package, main, png_size

APP_ID = "9d1f0e6c-2b7a-4c55-8f3e-0a1b2c3d4e5f"


def test_the_package_holds_the_manifest_and_both_icons(tmp_path: Path) -> None:
    path = build_package(tmp_path / "app.zip", app_id=APP_ID, name="Recapper", version="1.2.3")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("color.png")) == (192, 192)
        assert png_size(archive.read("outline.png")) == (32, 32)
    assert manifest["id"] == APP_ID and manifest["version"] == "1.2.3"
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    permissions = {p["name"] for p in manifest["authorization"]["permissions"]["resourceSpecific"]}
    assert {"ChannelMessage.Read.Group", "OnlineMeeting.ReadBasic.Chat"} <= permissions
    assert "{{" not in json.dumps(manifest) and manifest["name"]["short"] == "Recapper"
    assert len(manifest["description"]["short"]) <= 80


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"app_id": ""}, "must be the Microsoft App ID"),
        ({"app_id": "my-bot"}, "must be the Microsoft App ID"),
        ({"app_id": APP_ID, "version": "1.0"}, "must look like 1.0.0"),
        ({"app_id": APP_ID, "website": "http://example.com"}, "must start with https://"),
        ({"app_id": APP_ID, "name": '"}, "evil": {"'}, None),  # only ever a string value
    ],
)
def test_bad_values_are_refused_with_a_reason(
    tmp_path: Path, fields: dict, message: str | None
) -> None:
    if message is None:
        path = build_package(tmp_path / "app.zip", **fields)
        manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
        assert "evil" not in manifest and manifest["name"]["short"] == fields["name"]
        return
    with pytest.raises(PackageError, match=message):
        build_package(tmp_path / "app.zip", **fields)


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "balafon.zip"
    assert main(["--app-id", APP_ID, "-o", str(out)]) == 0
    assert out.exists() and "Upload an app" in capsys.readouterr().out
    assert main(["--app-id", "nope", "-o", str(tmp_path / "x.zip")]) == 2
    assert "balafon: error:" in capsys.readouterr().err

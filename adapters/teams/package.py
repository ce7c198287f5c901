"""`balafon teams-package`: the Teams app package (manifest + icons, zipped) to sideload.

The template is `teams/manifest.json` at the repository root; `{{NAME}}`-style
placeholders are filled in string values only (after parsing, so no value can break the
JSON), and the result is checked for what Teams rejects at upload: a bot id that is not a
GUID, a placeholder left unfilled, non-https developer URLs, icons of the wrong size.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.teams.settings import TeamsSettings

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "teams"
ICONS = {"color.png": (192, 192), "outline.png": (32, 32)}
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_VERSION = re.compile(r"\d+\.\d+\.\d+")


class PackageError(ValueError):
    """The package cannot be built as asked; the message says what to change."""


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise PackageError("an icon is not a PNG file")
    return struct.unpack(">II", data[16:24])


def manifest(
    *,
    app_id: str,
    teams_app_id: str | None = None,
    name: str = "balafon",
    version: str = "1.0.0",
    developer: str = "balafon",
    website: str = "https://github.com/",
    privacy: str | None = None,
    terms: str | None = None,
    template_dir: Path = TEMPLATE_DIR,
) -> dict[str, Any]:
    """The filled-in manifest, validated."""
    if not _GUID.fullmatch(app_id or ""):
        raise PackageError(
            "The bot's app id must be the Microsoft App ID of its Azure Bot registration "
            f"(a GUID), not {app_id!r}. Set MICROSOFT_APP_ID or pass --app-id."
        )
    teams_app_id = teams_app_id or app_id
    if not _GUID.fullmatch(teams_app_id):
        raise PackageError(f"The Teams app id must be a GUID, not {teams_app_id!r}.")
    if not _VERSION.fullmatch(version):
        raise PackageError(f"The version must look like 1.0.0, not {version!r}.")
    if len(name) > 30 or not name.strip():
        raise PackageError("The app name must be 1 to 30 characters.")
    urls = {"website": website, "privacy": privacy or website, "terms": terms or website}
    for label, url in urls.items():
        if not url.startswith("https://"):
            raise PackageError(f"The {label} URL must start with https:// (Teams requires it).")
    template = json.loads((template_dir / "manifest.json").read_text(encoding="utf-8"))
    filled = _fill(
        template,
        {
            "APP_ID": app_id,
            "TEAMS_APP_ID": teams_app_id,
            "NAME": name.strip(),
            "VERSION": version,
            "DEVELOPER_NAME": developer,
            "WEBSITE_URL": urls["website"],
            "PRIVACY_URL": urls["privacy"],
            "TERMS_URL": urls["terms"],
        },
    )
    left = _PLACEHOLDER.findall(json.dumps(filled))
    if left:
        raise PackageError(f"The manifest template has unknown placeholders: {sorted(set(left))}")
    return filled


def build_package(output: Path, *, template_dir: Path = TEMPLATE_DIR, **fields: Any) -> Path:
    """Write the zip Teams accepts for sideloading: manifest.json and the two icons at the
    top level of the archive."""
    content = manifest(template_dir=template_dir, **fields)
    icons = {}
    for icon, size in ICONS.items():
        data = (template_dir / icon).read_bytes()
        if png_size(data) != size:
            raise PackageError(f"{icon} must be {size[0]}x{size[1]} pixels")
        icons[icon] = data
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(content, indent=2, ensure_ascii=False))
        for icon, data in icons.items():
            archive.writestr(icon, data)
    return output


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `teams-package` options (the CLI adds them to its subcommand)."""
    parser.add_argument("--app-id", help="Microsoft App ID of the bot (default: MICROSOFT_APP_ID)")
    parser.add_argument("--teams-app-id", help="the Teams app's own id (default: the app id)")
    parser.add_argument("--name", default="balafon", help="name shown in Teams")
    parser.add_argument("--version", default="1.0.0", help="bump it for every re-upload")
    parser.add_argument("--developer", default="balafon", help="developer name shown in Teams")
    parser.add_argument("--website", default="https://github.com/", help="https URL")
    parser.add_argument("--privacy-url", help="https URL (default: the website)")
    parser.add_argument("--terms-url", help="https URL (default: the website)")
    parser.add_argument("--template-dir", type=Path, default=TEMPLATE_DIR)
    parser.add_argument("-o", "--output", type=Path, default=Path("balafon-teams.zip"))


def run(args: argparse.Namespace, settings: TeamsSettings | None = None) -> int:
    """Build the package from parsed arguments; prints the path, or the error (exit 2)."""
    app_id = args.app_id or (settings.microsoft_app_id if settings else None)
    try:
        path = build_package(
            args.output,
            template_dir=args.template_dir,
            app_id=app_id or "",
            teams_app_id=args.teams_app_id,
            name=args.name,
            version=args.version,
            developer=args.developer,
            website=args.website,
            privacy=args.privacy_url,
            terms=args.terms_url,
        )
    except (PackageError, OSError) as exc:
        print(f"balafon: error: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {path}: upload it in Teams (Apps → Manage your apps → Upload an app).")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="balafon teams-package", description="Build the Teams app package to sideload."
    )
    add_arguments(parser)
    settings: TeamsSettings | None
    try:
        settings = TeamsSettings()
    except (ValueError, OSError):  # settings are optional here: --app-id is enough
        settings = None
    return run(parser.parse_args(argv), settings)


if __name__ == "__main__":
    sys.exit(main())

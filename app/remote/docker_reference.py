"""Image references the way the docker CLI normalises them (`app` → `docker.io/library/app:latest`)."""

from __future__ import annotations

from dataclasses import dataclass

HUB = "docker.io"


@dataclass(frozen=True)
class ImageReference:
    registry: str  # "docker.io" for Docker Hub
    path: str  # "library/app", "dhh/app", "group/app"
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """The full name the CLI sends as `repo` when tagging: `docker.io/dhh/app`, `reg:5050/app`."""
        return f"{self.registry}/{self.path}"

    @property
    def familiar(self) -> str:
        """The short name people write: `app`, `dhh/app`, `reg:5050/app`."""
        if self.registry == HUB:
            return self.path.removeprefix("library/")
        return self.repository

    @property
    def tag_or_digest(self) -> str:
        return self.digest or self.tag or "latest"


def parse_reference(text: str) -> ImageReference:
    name, _, digest = text.partition("@")
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1:]
    if not name or name != name.strip() or any(char.isupper() for char in name.split("/", 1)[-1]):
        raise ValueError(f"invalid reference format: {text}")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = HUB, name
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = HUB
    if registry == HUB and "/" not in path:
        path = f"library/{path}"
    return ImageReference(registry, path, tag, digest or None)

"""The tables one deployment watches: one config file each, matched to storage events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from drift.domain.config import ConfigError, DriftConfig, load_config
from drift.domain.events import CommitEvent
from drift.wiring.bootstrap import AuthOptions, Services, build_services


class UnknownTable(LookupError):
    """A request names a table this deployment does not watch."""


def storage_key(account: str, container: str, path: str) -> str:
    """`account/container/path`: one spelling for configs, events and URLs alike."""
    return f"{account.lower()}/{container}/{path.strip('/')}".rstrip("/")


def table_key(config: DriftConfig) -> str:
    """`account/container/path` when the config names its storage, else its local table path.

    The key is what Event Grid events are matched on and what instance ids derive from.
    """
    p = config.parameters
    if p.storage_account_name and p.container_name:
        return storage_key(p.storage_account_name, p.container_name, p.container_data_path or "")
    assert config.local is not None  # a config without storage fields is a local one
    return f"local:{config.local.table_path}"


@dataclass
class Watchlist:
    configs: dict[str, DriftConfig]
    auth: AuthOptions = field(default_factory=AuthOptions)
    _services: dict[str, Services] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: str | Path, auth: AuthOptions | None = None) -> Watchlist:
        """A YAML file, or a folder of them (`*.yaml`, `*.yml`), one table each."""
        where = Path(path)
        files = sorted([*where.glob("*.yaml"), *where.glob("*.yml")]) if where.is_dir() else [where]
        if not files:
            raise ConfigError(f"{where}: no *.yaml or *.yml config in this folder")
        configs: dict[str, DriftConfig] = {}
        for file in files:
            config = load_config(file)
            key = table_key(config)
            if key in configs:
                raise ConfigError(
                    f"{file}: watches {key}, already watched by {configs[key].source}"
                )
            configs[key] = config
        return cls(configs, auth or AuthOptions())

    def __iter__(self) -> Iterator[str]:
        return iter(self.configs)

    def match(self, event: CommitEvent) -> str | None:
        key = storage_key(event.account, event.container, event.table_path)
        return key if key in self.configs else None

    def resolve(self, key: str | None) -> str:
        """The key a request means: the one given, or the only table when none is given."""
        if key is None:
            if len(self.configs) == 1:
                return next(iter(self.configs))
            raise UnknownTable(
                f"table: required when several tables are watched ({', '.join(self.configs)})"
            )
        if key not in self.configs:
            raise UnknownTable(
                f"table: {key!r} is not watched (watched: {', '.join(self.configs)})"
            )
        return key

    def services(self, key: str | None) -> Services:
        """Backends for one table, built once per process (activities run many times)."""
        key = self.resolve(key)
        with self._lock:  # activities run on a thread pool: build each table's clients once
            if key not in self._services:
                self._services[key] = build_services(self.configs[key], self.auth)
            return self._services[key]

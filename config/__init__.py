"""The station configuration: its schema, the default `station.toml` (package data) and its loader.

A regular package on purpose: importlib.resources finds data files in it in editable installs
too, which fails for namespace packages such as `cabin.queue` on Python 3.11.
"""

from .loader import (  # noqa: F401
    ConfigError,
    check,
    default_config_path,
    describe,
    load_config,
    read_bounded,
    resolve_config_path,
    to_toml,
)
from .schema import (  # noqa: F401
    DEFAULT_LANGUAGE,
    DEFAULT_PRIORITY,
    LANGUAGES,
    THEMES,
    TICKET_MODES,
    WEEKDAYS,
    Category,
    Device,
    Dispenser,
    Export,
    Faces,
    IdCardPolicy,
    Priority,
    QueueRules,
    Service,
    Station,
    StationConfig,
    StoreLocation,
    TemporaryCardPolicy,
    Window,
)

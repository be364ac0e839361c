"""Settings: schema with defaults, TOML loading and validation (unknown key = error)."""

from swissbox.conf.loader import (
    CONFIG_NAME,
    Config,
    ConfigError,
    load,
    parse_hostport,
    settings_from_dict,
)
from swissbox.conf.schema import Settings
from swissbox.conf.template import render_config

__all__ = [
    "CONFIG_NAME",
    "Config",
    "ConfigError",
    "Settings",
    "load",
    "parse_hostport",
    "render_config",
    "settings_from_dict",
]

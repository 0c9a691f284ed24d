"""``privsem eval``: the paper's figures and claims from one configuration."""

from .config import EvalConfig, load_config, parse_config
from .run import run_eval

__all__ = ["EvalConfig", "load_config", "parse_config", "run_eval"]

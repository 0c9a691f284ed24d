"""Shared state of the fuzz tests: the tally of mutated headers the CRC-32 let through,
printed in pytest's summary so that a CI log records it."""

import collections

import pytest

CRC_TALLY: collections.Counter = collections.Counter()


@pytest.fixture(scope="session")
def crc_tally() -> collections.Counter:
    return CRC_TALLY


def pytest_terminal_summary(terminalreporter):
    if CRC_TALLY["mutated"]:
        terminalreporter.write_line(
            f"fuzz: {CRC_TALLY['mutated']} mutated headers, {CRC_TALLY['accepted']} passed the CRC-32")

"""Reading Host headers and telling loopback from the network, for the service's access guard."""

from __future__ import annotations

import pytest

from dubber.access import host_name, is_loopback


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:7860", "127.0.0.1"), ("localhost", "localhost"), ("[::1]:7860", "::1"), ("[::1]", "::1"),
    ("studio.example:80", "studio.example"), ("::1", "::1"),
])
def test_host_name_drops_the_port(header, name):
    assert host_name(header) == name


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("192.168.1.5", False), ("::", False),
    ("localhost.attacker.example", False), ("127.0.0.1.nip.io", False), ("", False),
])
def test_only_this_machine_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback

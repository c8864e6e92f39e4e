"""A loopback vendor simulator shared by the reliability tests and the benchmarks (see server.py)."""

from tests.sim.server import Call, Request, Response, Simulator, VendorConfig
from tests.sim.vendors import all_vendors

__all__ = ["Call", "Request", "Response", "Simulator", "VendorConfig", "all_vendors", "start"]


def start(**defaults: object) -> Simulator:
    """A started simulator with every vendor (stop it with `.stop()` or use it as a context manager)."""
    return Simulator(all_vendors(), **defaults).start()

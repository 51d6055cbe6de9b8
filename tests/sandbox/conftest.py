import pytest
from sbx_helpers import CREDS

from sandbox import Dataset, SandboxConfig, start_server


@pytest.fixture(scope="session")
def dataset():
    return Dataset()


@pytest.fixture(scope="session")
def server(dataset):
    srv = start_server("127.0.0.1", 0, SandboxConfig(credentials=CREDS), dataset=dataset)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def make_server(dataset):
    """Start extra servers (other as_of, faults, traps); all stopped at the end."""
    started = []

    def make(**kw):
        kw.setdefault("credentials", CREDS)
        ds = kw.pop("dataset", None)
        if ds is None and not kw.get("traps") and kw.get("scale", 1) == 1 and kw.get("seed") is None:
            ds = dataset
        kw = {k: v for k, v in kw.items() if v is not None}
        srv = start_server("127.0.0.1", 0, SandboxConfig(**kw), dataset=ds)
        started.append(srv)
        return srv

    yield make
    for s in started:
        s.stop()

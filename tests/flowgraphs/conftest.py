import pytest

from privsem.transport.gnuradio import find_gnuradio_python


@pytest.fixture(scope="session")
def gr_python():
    py = find_gnuradio_python()
    if py is None:
        pytest.skip("GNU Radio not found: no python3 imports gnuradio (run ./setup.sh as root "
                    "to apt-get install gnuradio, or set PRIVSEM_GR_PYTHON)")
    return py

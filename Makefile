# robot_learning: set-up, tests and the demo on a fresh machine.
#   make test   # creates/refreshes .venv, then runs the test suite
#   make demo   # creates/refreshes .venv, then runs the sim-to-sim demo
# DDS discovery stays on loopback and on a private domain for tests and the demo.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
ROS_DOMAIN_ID ?= 42
ROS_ENV := ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=$(ROS_DOMAIN_ID) \
	FASTDDS_DEFAULT_PROFILES_FILE=$(CURDIR)/config/dds/fastdds_loopback.xml
LINT_PATHS := $(wildcard robot_learning test benchmarks)

.PHONY: venv test demo lint clean

venv: $(STAMP)

# torch==2.13.0 is the CPU build on these machines and must come BEFORE the project: setup.py
# leaves torch unpinned, so an already installed torch satisfies it and pip downloads no other.
# The dev extra brings colcon (colcon-core, colcon-ros, colcon-bash) from PyPI: the test suite
# builds the package with a plain `colcon build` (test/integration/test_colcon_install.py).
# torchvision==0.28.0 is torch 2.13.0's; the lerobot extra leaves it unpinned, as torch.
# lerobot-dataset (LeRobotDataset for `bag export --format lerobot`) goes in with --no-deps: its
# declared requirements would downgrade numpy (opencv-python-headless) and packaging, and are not
# imported to write and read datasets; the lerobot extra (setup.py) holds the ones that are.
$(STAMP): setup.py setup.cfg package.xml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install torchvision==0.28.0
	$(BIN)/python -m pip install -e '.[ros,dev,lerobot]'
	$(BIN)/python -m pip install --no-deps lerobot-dataset==0.4.4
	@# Videos (play, --video) render offscreen with EGL, else OSMesa: install OSMesa with apt
	@# where neither is present (as root, or with password-less sudo).
	/sbin/ldconfig -p | grep -qE 'lib(EGL_mesa|EGL_nvidia|OSMesa)\.so' || ! command -v apt-get >/dev/null \
		|| $$([ "$$(id -u)" = 0 ] || echo sudo -n) sh -c 'apt-get update -qq && apt-get install \
		-y -qq libosmesa6' || echo 'warning: libosmesa6 not installed; videos need EGL or OSMesa'
	touch $@

test: venv
	$(ROS_ENV) $(BIN)/python -m pytest test -q

demo: venv
	$(ROS_ENV) $(BIN)/robot-learning demo

lint: venv
	$(BIN)/python -m flake8 $(LINT_PATHS)

clean:
	rm -rf $(VENV) build install log *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

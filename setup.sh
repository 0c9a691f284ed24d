#!/usr/bin/env bash
# privsem setup: `./setup.sh demo` sets up and runs the demo, `./setup.sh test` sets up and
# runs the whole test suite, `./setup.sh figures` regenerates the paper's figures in
# docs/results.md, `./setup.sh multitask` the second scheme's section of it, `./setup.sh
# photos` the codec trainers' photos (privsem train refine). All are idempotent: a
# second run reuses what is installed and resumes what was computed.
#
# What it installs:
#   - GNU Radio 3.10 from Debian (apt) into the system python3, when run as root or with
#     passwordless sudo; otherwise the GNU Radio tests skip with a printed reason.
#   - Fashion-MNIST from Debian (dataset-fashion-mnist) for `privsem multitask`, same rule.
#   - for `./setup.sh test` and `photos`: Debian's plasma-workspace-wallpapers and
#     libjxl-testdata (training photos for `privsem train refine`), same rule, or
#     unpacked into the venv with `apt-get download`.
#   - for `./setup.sh test`: Debian's chromium, chromium-driver and Xvfb (the live view's
#     browser tests and the GUI flowgraph screenshots), same rule.
#   - a virtualenv in .venv with privsem and its Python dependencies (numpy 2 is fine
#     there: privsem never imports gnuradio, flowgraphs run under /usr/bin/python3).
# Environment overrides: PRIVSEM_VENV (venv path), PRIVSEM_TORCH (pip spec for torch and
# torchvision), PRIVSEM_SKIP_APT=1 (never touch apt).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${PRIVSEM_VENV:-.venv}
PY=${PYTHON:-python3}

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
    else return 1; fi
}

apt_install() {
    [ "${PRIVSEM_SKIP_APT:-0}" = 1 ] && return 1
    command -v apt-get >/dev/null || return 1
    as_root true 2>/dev/null || return 1
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

setup_gnuradio() {
    if /usr/bin/python3 -c 'from gnuradio import gr, zeromq, blocks' 2>/dev/null; then return 0; fi
    apt_install gnuradio || log "GNU Radio not installed (needs root or sudo); its tests will skip"
}

setup_browser() {
    # `privsem view`'s browser tests and the GUI flowgraph screenshots: Debian's headless
    # chromium with its driver, and a virtual X server.
    command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v Xvfb >/dev/null && return 0
    apt_install chromium chromium-driver xvfb xauth || log "chromium/Xvfb not installed (needs root or sudo); the browser and GUI tests will skip"
}

setup_datasets() {
    # Fashion-MNIST for `privsem multitask` (Debian ships the IDX files).
    [ -d /usr/share/datasets/fashion-mnist ] && return 0
    apt_install dataset-fashion-mnist || log "Fashion-MNIST not installed (needs root or sudo); its tests will skip"
}

setup_photos() {
    # The guard's same-class distractors (privsem/database/distractors.py): OpenCV's sample
    # pictures from Debian's opencv-doc. Without root, `apt-get download` the package and
    # copy its pictures into the venv (also when dpkg excludes /usr/share/doc). The guard's
    # negative bank also uses some of them (GENERIC_PHOTOS in the same module).
    local data=/usr/share/doc/opencv-doc/examples/data dst="$VENV/share/privsem-photos" tmp
    [ -f "$data/messi5.jpg" ] || [ -f "$dst/messi5.jpg" ] && return 0
    apt_install opencv-doc && [ -f "$data/messi5.jpg" ] && return 0
    tmp=$(mktemp -d)
    if [ "${PRIVSEM_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null && command -v dpkg >/dev/null \
        && (cd "$tmp" && apt-get download -q opencv-doc >/dev/null 2>&1) \
        && dpkg -x "$tmp"/opencv-doc_*.deb "$tmp/x" && [ -f "$tmp/x$data/messi5.jpg" ]; then
        mkdir -p "$dst"
        cp "$tmp/x$data"/*.jpg "$tmp/x$data"/*.png "$dst/"
        log "OpenCV sample pictures copied into $dst"
    else
        log "opencv-doc not installed (needs apt); the distractor benchmarks will use fewer pictures"
    fi
    rm -rf "$tmp"
}

setup_training_photos() {
    # Real photos for `privsem train refine` (privsem/codec/photos.py): Debian's
    # plasma-workspace-wallpapers and libjxl-testdata (about 200 MB). Without root,
    # `apt-get download` them and unpack into the venv's share/privsem-photos.
    local pair pkg dir tmp dst="$VENV/share/privsem-photos"
    for pair in plasma-workspace-wallpapers:wallpapers libjxl-testdata:libjxl-testdata; do
        pkg=${pair%%:*} dir=${pair##*:}
        if [ -d "/usr/share/$dir" ] || [ -d "$dst/$dir" ]; then continue; fi
        apt_install "$pkg" && [ -d "/usr/share/$dir" ] && continue
        tmp=$(mktemp -d)
        if [ "${PRIVSEM_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null && command -v dpkg >/dev/null \
            && (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) \
            && dpkg -x "$tmp/${pkg}"_*.deb "$tmp/x" && [ -d "$tmp/x/usr/share/$dir" ]; then
            mkdir -p "$dst" && cp -r "$tmp/x/usr/share/$dir" "$dst/$dir"
            log "$pkg unpacked into $dst/$dir"
        else
            log "$pkg not installed (needs apt); train refine uses the bundled pictures only"
        fi
        rm -rf "$tmp"
    done
}

setup_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PY" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv || { log "error: '$PY -m venv' failed and python3-venv cannot be installed"; exit 1; }
            "$PY" -m venv "$VENV"
        fi
    fi
    local stamp="$VENV/.privsem-installed" want
    want=$(cat pyproject.toml setup.sh | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    log "installing Python packages into $VENV (first run: a few minutes)"
    "$VENV/bin/pip" install -q --upgrade pip
    local torch_spec=${PRIVSEM_TORCH:-}
    if [ -z "$torch_spec" ]; then
        # The pair that installs and runs together on CPU (docs/install.md).
        case "$(uname -m)" in
            aarch64|arm64) torch_spec="torch==2.9.1 torchvision==0.24.1" ;;
            *) torch_spec="torch==2.14.1 torchvision==0.29.1" ;;
        esac
    fi
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q $torch_spec
    # setuptools prints an "Editable installation" notice on every editable install; it is not a problem
    PYTHONWARNINGS="ignore:Editable installation" "$VENV/bin/pip" install -q -e ".[test]"
    echo "$want" > "$stamp"
}

cmd=${1:-}
case "$cmd" in
    demo)
        setup_gnuradio
        setup_venv
        setup_photos
        rm -rf out/example_db
        "$VENV/bin/privsem" db example out/example_db --scenes out/scenes
        "$VENV/bin/privsem" loopback out/scenes/chelsea.png \
            --db out/example_db --snr 10 --channel awgn --out out/demo
        ;;
    figures)
        # Everything behind docs/results.md (≈ 45 min on 2 cores): Algorithm 3's joint
        # training, then the paper's grid with every ablation. Both steps resume.
        setup_gnuradio
        setup_venv
        setup_photos
        [ -f out/figures_db/manifest.json ] || "$VENV/bin/privsem" db example out/figures_db
        resume=""; [ -f out/joint/joint.ckpt ] && resume="--resume"
        [ -f out/joint/report.json ] || "$VENV/bin/privsem" train joint --db out/figures_db --out out/joint $resume
        "$VENV/bin/privsem" eval --config paper --joint out/joint --out docs/results --report docs/results.md
        ;;
    multitask)
        # The second scheme's experiments (≈ 60 min on 2 cores): the latent-dimension sweep,
        # the defences and the PHY check, into docs/multitask and docs/results.md. Resumes.
        setup_gnuradio
        setup_datasets
        setup_venv
        "$VENV/bin/privsem" multitask experiments --out docs/multitask --report docs/results.md
        ;;
    photos)
        # The codec trainers' photos only (privsem train refine).
        setup_venv
        setup_training_photos
        ;;
    test)
        setup_gnuradio
        setup_datasets
        setup_browser
        setup_venv
        setup_photos
        setup_training_photos
        shift
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: ./setup.sh demo|figures|multitask|photos|test [pytest args]" >&2; exit 2 ;;
esac

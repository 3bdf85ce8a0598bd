#!/usr/bin/env bash
# Installs the Debian packages vbsim needs, and only when one is missing, so it is
# cheap to call before every build. Run as root (or with sudo available).
# Usage: install-deps.sh [--tests]   (--tests: also what only the test suite needs)
set -euo pipefail

packages=(
  cmake g++ make pkgconf
  libsystemc-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  clang clang-format libclang-rt-14-dev
  # scripts/qemu-test.sh: the sw/ driver bare-metal on qemu-system-riscv64 -M virt
  gcc-riscv64-unknown-elf qemu-system-misc
)
# The test suite also starts a one-node Slurm cluster (tests/slurm): `install-deps.sh --tests`.
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(slurmctld slurmd slurm-client munge)
fi
# Extra packages a caller may ask for, e.g. VBSIM_EXTRA_PACKAGES="qemu-system-misc".
if [[ -n "${VBSIM_EXTRA_PACKAGES:-}" ]]; then
  read -r -a extra <<<"${VBSIM_EXTRA_PACKAGES}"
  packages+=("${extra[@]}")
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("${package}")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "vbsim: installing missing packages: ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

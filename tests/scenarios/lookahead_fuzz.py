#!/usr/bin/env python3
"""Random scenarios, each run with and without lookahead: every output must be the same bytes.

usage: lookahead_fuzz.py VBSIM WORK_DIR FIRST_SEED LAST_SEED

Each seed gives one small scenario mixing what lookahead must get right: several guests, costs
and latencies down to zero, stats polling, policies, freeze/restore/reset events, free page
hinting, legacy transport, host pressure with and without swap, the register trace. Exit status
0 when all match; 1 names the first seeds that differ (re-run one by hand with its YAML, kept in
WORK_DIR). A run that crashes or exits with 3 counts as differing too.
"""
import filecmp
import os
import random
import shutil
import subprocess
import sys


def mapping(values):
    return "{" + ", ".join(f"{key}: {mapping(value) if isinstance(value, dict) else value}"
                           for key, value in values.items()) + "}"


def scenario(seed):
    rng = random.Random(seed)
    pick = rng.choice
    duration_ms = pick([300, 500, 1000])
    lines = [f"name: fuzz{seed}", f"duration: {duration_ms}ms", f"seed: {seed}"]
    balloon, driver, cpu = {}, {}, {}
    if rng.random() < 0.4:
        balloon["interrupt_latency"] = pick(["0", "1ns", "1us", "100us", "1ms"])
    if rng.random() < 0.3:
        balloon["transport"] = "legacy"
    if rng.random() < 0.4:
        balloon["inflate"] = {"transport_cost": pick(["0", "1us", "385us", "2ms"]),
                              "host_per_page_cost": pick(["0", "430ns", "10us"])}
    if rng.random() < 0.4:
        balloon["deflate"] = {"transport_cost": pick(["0", "78us", "3ms"]),
                              "host_per_buffer_cost": pick(["0", "1ms", "7ms"])}
    if rng.random() < 0.4:
        balloon["stats_poll_interval"] = pick(["0", "1ms", "7ms", "100ms"])
    if rng.random() < 0.2:
        balloon["offered_features"] = ("[must_tell_host, stats_vq, deflate_on_oom, "
                                       "page_reporting, free_page_hint]")
        driver["features"] = balloon["offered_features"]
    if rng.random() < 0.2:
        balloon["register_latency"] = pick(["0", "1us"])
    if rng.random() < 0.3:
        driver["event_idx"] = pick(["false", "true"])
    if rng.random() < 0.3:
        driver["pfns_per_round"] = pick([1, 16, 100, 256])
    if rng.random() < 0.3:
        for key in ["alloc_cost_per_page", "free_cost_per_page", "translate_cost_per_page",
                    "cpu_cost_per_round"]:
            driver[key] = "0"
    if rng.random() < 0.2:
        driver["queue_size"] = pick([1, 2, 4])
    if rng.random() < 0.5:
        cpu["quantum"] = pick(["0", "1us", "10us", "1ms"])
    if rng.random() < 0.3:
        cpu["interrupt_entry_cost"] = pick(["0", "1us", "100us"])
    platform = {key: value for key, value in
                [("balloon", balloon), ("driver", driver), ("cpu", cpu)] if value}
    if platform:
        lines.append("platform: " + mapping(platform))

    lines.append("guests:")
    names = [f"vm{i}" for i in range(pick([1, 1, 2, 3]))]
    ram = {}
    for name in names:
        ram[name] = pick([64, 128, 256])
        lines += [f"  - name: {name}", f"    ram: {ram[name]}MiB"]
        if rng.random() < 0.5:
            lines.append(f"    resident_at_start: {pick(['0', '50%', '100%'])}")
        phases = []
        for _ in range(rng.randint(1, 3)):
            kind = pick(["allocate", "free", "hold", "cache", "touch"])
            size = ram[name]
            if kind == "hold":
                phases.append(f"{{kind: hold, duration: {pick([10, 100, 300])}ms}}")
            elif kind == "allocate":
                phases.append(f"{{kind: allocate, rate: {pick([10, 200, 1000])}MiB/s, "
                              f"level: {int(size * pick([0.2, 0.5, 0.9]))}MiB}}")
            elif kind == "free":
                phases.append(f"{{kind: free, rate: {pick([10, 100, 0])}MiB/s, "
                              f"level: {int(size * 0.1)}MiB}}")
            elif kind == "cache":
                phases.append(f"{{kind: cache, rate: {pick([10, 100])}MiB/s, "
                              f"level: {int(size * 0.4)}MiB}}")
            else:
                phases.append(f"{{kind: touch, rate: 100MiB/s, level: {int(size * 0.3)}MiB, "
                              f"duration: {pick([50, 200])}ms}}")
        tick = pick(["1ms", "100us", "7ms", "777us"])
        lines.append(f"    workload: {{tick: {tick}, repeat: {pick(['true', 'false'])}, "
                     f"phases: [{', '.join(phases)}]}}")

    lines += ["host:", f"  ram: {int(sum(ram.values()) * pick([0.5, 1.0, 2.0]))}MiB"]
    if rng.random() < 0.3:
        lines.append(f"  swap: {{size: {pick([32, 512])}MiB}}")
    policy = pick(["timeline", "timeline", "auto", "balance_available"])
    if policy == "timeline":
        lines += ["  policy:", "    kind: timeline", "    timeline:"]
        entries = sorted((rng.randint(0, duration_ms - 1), pick(names)) for _ in range(4))
        for at, name in entries:
            lines.append(f"      - {{at: {at}ms, guest: {name}, "
                         f"balloon: {int(ram[name] * pick([0, 0.3, 0.7]))}MiB}}")
    else:
        interval = pick(["10ms", "100ms"])
        extra = ", guest_critical: 10MiB" if policy == "balance_available" else ""
        lines.append(f"  policy: {{kind: {policy}, {policy}: {{interval: {interval}{extra}}}}}")

    events = []
    for _ in range(pick([0, 1, 2, 4])):
        kind = pick(["set_target", "stats_request", "freeze", "restore", "device_reset",
                     "free_page_hint_start", "free_page_hint_stop"])
        name = pick(names)
        extra = f", balloon: {int(ram[name] * 0.5)}MiB" if kind == "set_target" else ""
        at = rng.randint(1, duration_ms - 1)
        events.append((at, f"  - {{at: {at}ms, kind: {kind}, guest: {name}{extra}}}"))
    if events:
        lines.append("events:")
        lines += [line for _, line in sorted(events)]
    trace = ", trace: true" if rng.random() < 0.3 else ""
    sample = pick(["1ms", "7ms", "100ms", "250ms"])
    lines.append(f"output: {{sample_interval: {sample}{trace}}}")
    return "\n".join(lines) + "\n"


def run(vbsim, yaml, out, lookahead):
    arguments = [vbsim, "run", yaml, "--out", out, "--quiet"]
    if not lookahead:
        arguments += ["--set", "platform.cpu.lookahead=false"]
    return subprocess.run(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode


def same_outputs(first, second):
    names = sorted(os.listdir(first))
    return names == sorted(os.listdir(second)) and all(
        filecmp.cmp(os.path.join(first, name), os.path.join(second, name), shallow=False)
        for name in names)


def main():
    vbsim, work, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(work, exist_ok=True)
    differing, checked = [], 0
    for seed in range(first, last + 1):
        yaml = os.path.join(work, f"fuzz{seed}.yaml")
        with open(yaml, "w", encoding="utf-8") as file:
            file.write(scenario(seed))
        if subprocess.run([vbsim, "check", yaml], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode != 0:
            continue  # an invalid combination: not a lookahead question
        ahead, in_step = os.path.join(work, "ahead"), os.path.join(work, "in_step")
        for folder in (ahead, in_step):
            shutil.rmtree(folder, ignore_errors=True)
        status_ahead = run(vbsim, yaml, ahead, True)
        status_in_step = run(vbsim, yaml, in_step, False)
        checked += 1
        # 0 and 1 (a failed check) leave outputs; 2 is bad input or a limit; anything else
        # (3, a signal, a sanitizer's abort) is a failure whatever the other run did.
        crashed = any(status not in (0, 1, 2) for status in (status_ahead, status_in_step))
        if crashed or status_ahead != status_in_step or (status_ahead in (0, 1) and
                                                         not same_outputs(ahead, in_step)):
            differing.append(seed)
        else:
            os.remove(yaml)
    print(f"lookahead fuzz: {checked} scenarios checked, {len(differing)} differ"
          + (f" (seeds {', '.join(map(str, differing[:10]))}; YAML in {work})" if differing
             else ""))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs vbsim's bare-metal balloon firmware (firmware/riscv-virt) against QEMU's
virtio-balloon and checks that the driver and the device agree.

Builds nothing: pass the firmware ELF. For each transport (force-legacy=true: virtio-mmio
version 1, QEMU's default; force-legacy=false: version 2) it starts

  qemu-system-riscv64 -M virt -bios none -m 128M -nographic -kernel FW
      -device virtio-balloon-device,id=balloon0 -qmp unix:SOCK,server=on,wait=off
      -global virtio-mmio.force-legacy=... -D LOG -d guest_errors
      -trace virtio_balloon_handle_output -trace virtio_balloon_bad_addr
      -trace ram_block_discard_range

sets a sequence of targets with QMP `balloon` (the guest's target RAM in bytes), waits after
each for the firmware's UART status line and checks `query-balloon` against the driver's own
count. At the end it tells the firmware (UART command 'q') to check its invariants and end
QEMU with pass/fail, then checks the QEMU log: one virtio_balloon_handle_output trace entry
per PFN the driver sent, all inside the RAM the guest gave its allocator, every page deflated
as often as inflated, one 4 KiB ram_block_discard_range per PFN inflated, no
virtio_balloon_bad_addr, and no guest_errors. QEMU is always stopped (QMP quit, then kill).
Python 3 standard library only.

--reporting adds free-page-reporting=on: the reports must show in the virtqueue trace, and
each reported 2 MiB block as one ram_block_discard_range of 2 MiB (QEMU hands the memory
back to the host). --poison also needs the poison firmware (vbsim-firmware-poison.elf) and
adds page-poison=on: PAGE_POISON must be negotiated, poison_val = 0xaaaaaaaa written and read
back, the reports must still arrive, and QEMU must discard none of them (no 2 MiB
ram_block_discard_range), which the firmware confirms by finding its 0xaa in every page of
the reported blocks.

Exit status 0 when every check passed.
"""

import argparse
import collections
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
RAM_BYTES = 128 * MIB
PAGE = 4096
RAM_PAGES = RAM_BYTES // PAGE

# (name, QMP `balloon` value in bytes, extra action). The SystemC mirror scenario uses the
# same guest RAM and the same targets.
STEPS = [
    ("inflate to 96 MiB", 96 * MIB),
    ("deflate to 120 MiB", 120 * MIB),
    ("stats round trip", None),
    ("more than the guest can give (1 MiB)", 1 * MIB),
    ("deflate to 64 MiB", 64 * MIB),
    ("back to zero (128 MiB)", 128 * MIB),
    ("above RAM (256 MiB, QEMU clamps)", 256 * MIB),
]

STEP_TIMEOUT = 10.0
BOOT_TIMEOUT = 10.0
EXIT_TIMEOUT = 10.0
STATS_TIMEOUT = 5.0

STATUS_RE = re.compile(r"^balloon: (num_pages=.*)$")
KV_RE = re.compile(r"(\w+)=(\S+)")
TRACE_RE = re.compile(r"virtio_balloon_handle_output\b.*\bgpa: 0x([0-9a-fA-F]+)")
# Reporting mode: QEMU 7.2 has no virtio_balloon_* trace event for reporting_vq, so the generic
# virtqueue events show it: which vq is queue 3, and each element popped from it.
NOTIFY_RE = re.compile(r"virtio_queue_notify\b.*\bn (\d+) vq (0x[0-9a-fA-F]+)")
POP_RE = re.compile(r"virtqueue_pop\b.*\bvq (0x[0-9a-fA-F]+) elem \S+ in_num (\d+) out_num (\d+)")
FEATURE_STATS_VQ = 1
FEATURE_FREE_PAGE_HINT = 3
FEATURE_PAGE_REPORTING = 5
REPORT_TIMEOUT = 10.0
BAD_ADDR_RE = re.compile(r"virtio_balloon_bad_addr\b")
# QEMU's ram_block_discard_range(): the host gets memory back. One 4 KiB discard per inflated
# PFN (balloon_inflate_page), one per reported block (virtio_balloon_handle_report, skipped
# while poison_val != 0).
DISCARD_RE = re.compile(r"ram_block_discard_range\b.*\+ 0x([0-9a-fA-F]+): madvise: (-?\d+) "
                        r"fallocate: (-?\d+) ret: (-?\d+)")
FEATURE_PAGE_POISON = 4
POISON_VALUE = 0xaaaaaaaa
REPORT_BLOCK_BYTES = 2 * MIB


class TestFailure(Exception):
    pass


def parse_kv(text):
    values = {}
    for key, value in KV_RE.findall(text):
        try:
            values[key] = int(value, 0)
        except ValueError:
            values[key] = value
    return values


def expected_num_pages(target_bytes):
    """QEMU 7.2 virtio_balloon_to_target(): clamp to RAM, balloon = RAM - target."""
    target = min(target_bytes, RAM_BYTES)
    return (RAM_BYTES - target) // PAGE


class Qmp:
    def __init__(self, path, deadline):
        self.sock = None
        while True:
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(path)
                self.sock = sock
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise TestFailure("QMP socket %s never accepted a connection" % path)
                time.sleep(0.05)
        self.sock.settimeout(STEP_TIMEOUT)
        self.reader = self.sock.makefile("r", encoding="utf-8")
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise TestFailure("unexpected QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.reader.readline()
        if not line:
            raise TestFailure("QMP connection closed")
        return json.loads(line)

    def execute(self, command, arguments=None):
        message = {"execute": command}
        if arguments is not None:
            message["arguments"] = arguments
        self.sock.sendall((json.dumps(message) + "\n").encode())
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise TestFailure("QMP %s failed: %s" % (command, reply["error"]))
            return reply.get("return")

    def close(self):
        try:
            self.reader.close()
            self.sock.close()
        except OSError:
            pass


class QemuRun:
    """One QEMU process, its UART (stdin/stdout), its QMP socket and its log file."""

    def __init__(self, args, legacy, workdir):
        self.args = args
        self.legacy = legacy
        self.workdir = workdir
        self.qmp_path = os.path.join(workdir, "qmp.sock")
        self.log_path = os.path.join(workdir, "qemu.log")
        self.uart_path = os.path.join(workdir, "uart.txt")
        self.stderr_path = os.path.join(workdir, "stderr.txt")
        self.lines = queue.Queue()
        self.uart_log = []
        self.proc = None
        self.qmp = None
        self.status = None  # the latest "balloon:" status line, parsed
        self.info = {}  # "device:", "memory:", "driver:", "balloon: final", "used:" lines

    def command_line(self):
        return [
            self.args.qemu, "-M", "virt", "-bios", "none", "-m", "%dM" % (RAM_BYTES // MIB),
            "-nographic", "-no-reboot",
            "-kernel", self.args.firmware,
        ] + (["-object", "iothread,id=balloon-io"] if self.args.hint else []) + [
            "-device", "virtio-balloon-device,id=balloon0" + self.args.device_props,
            "-global", "virtio-mmio.force-legacy=%s" % ("true" if self.legacy else "false"),
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-D", self.log_path, "-d", "guest_errors",
            "-trace", "virtio_balloon_handle_output",
            "-trace", "virtio_balloon_bad_addr",
            "-trace", "ram_block_discard_range",
        ] + (["-trace", "virtio_queue_notify", "-trace", "virtqueue_pop"]
             if self.args.reporting else [])

    # ---- process and UART ----------------------------------------------------------------
    def start(self):
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.command_line(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr_file)
        self.reader = threading.Thread(target=self._read_uart, daemon=True)
        self.reader.start()
        self.qmp = Qmp(self.qmp_path, time.monotonic() + BOOT_TIMEOUT)

    def _read_uart(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.uart_log.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def send(self, command):
        self.proc.stdin.write(command.encode())
        self.proc.stdin.flush()

    def _take_line(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            line = self.lines.get(timeout=remaining)
        except queue.Empty:
            return False
        if line is None:
            raise TestFailure("QEMU ended early (exit status %s); UART tail:\n  %s" %
                              (self.proc.wait(), "\n  ".join(self.uart_log[-8:])))
        match = STATUS_RE.match(line)
        if match:
            self.status = parse_kv(match.group(1))
        elif line.startswith("balloon: final"):
            self.info["final"] = parse_kv(line)
        elif line.startswith("poison: reported"):
            self.info["poison_reported"] = parse_kv(line)
        elif line.startswith("poison:"):
            self.info["poison"] = parse_kv(line)
        elif line.startswith("used:"):
            values = parse_kv(line)
            self.info["used_" + str(values.get("queue"))] = values
        else:
            for prefix in ("device:", "memory:", "driver:", "virtio-mmio:"):
                if line.startswith(prefix):
                    self.info[prefix[:-1]] = parse_kv(line)
        if "PANIC" in line or "TRAP" in line or "driver failed" in line:
            raise TestFailure("firmware: %s" % line)
        return True

    def wait_status(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        if self.status is not None and predicate(self.status):
            return self.status
        while self._take_line(deadline):
            if self.status is not None and predicate(self.status):
                return self.status
        raise TestFailure("timed out after %.0f s waiting for %s; last status: %s" %
                          (timeout, what, self.status))

    def wait_info(self, key, timeout):
        deadline = time.monotonic() + timeout
        while key not in self.info:
            if not self._take_line(deadline):
                raise TestFailure("timed out waiting for the firmware's %r line" % key)
        return self.info[key]

    def stop(self):
        """Never leaves QEMU running: QMP quit, then terminate, then kill."""
        if self.proc is None:
            return
        if self.proc.poll() is None and self.qmp is not None:
            try:
                self.qmp.execute("quit")
            except (TestFailure, OSError, ValueError):
                pass
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.qmp is not None:
            self.qmp.close()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.stderr_file.close()
        with open(self.uart_path, "w", encoding="utf-8") as out:
            out.write("\n".join(self.uart_log) + "\n")


def counters(status):
    keys = ("inflated_pfns", "deflated_pfns", "inflate_bufs", "deflate_bufs", "kicks",
            "interrupts", "isr_used", "isr_config", "config", "actual_writes")
    return {key: status[key] for key in keys}


def run_step(run, name, target_bytes, results):
    before = dict(run.status)
    expected = expected_num_pages(target_bytes)
    run.qmp.execute("balloon", {"value": target_bytes})

    def settled(status):
        return (status["config"] > before["config"] and status["target"] == expected and
                (status["num_pages"] == expected or status["stalled"] == 1))

    status = run.wait_status(settled, STEP_TIMEOUT, "%s to settle" % name)
    if status["num_pages"] != expected:
        # The guest cannot give what the host asks: the driver stops at the allocator's LOW
        # watermark and retries every 200 ms. Let a few retries pass, then look again.
        time.sleep(0.5)
        stalled_at = status["num_pages"]
        retries_before = status["alloc_failures"]
        run.send("s")
        status = run.wait_status(lambda s: s["alloc_failures"] > retries_before or
                                 s["num_pages"] != stalled_at, STEP_TIMEOUT,
                                 "a retry of the stalled inflation")
        memory = run.info["memory"]
        if status["num_pages"] != stalled_at:
            raise TestFailure("%s: the balloon moved from %d to %d pages after it stalled" %
                              (name, stalled_at, status["num_pages"]))
        if status["free_pages"] != memory["wmark_low"]:
            raise TestFailure("%s: stalled with %d free pages, expected the LOW watermark %d" %
                              (name, status["free_pages"], memory["wmark_low"]))
        if target_bytes >= RAM_BYTES - status["num_pages"] * PAGE:
            raise TestFailure("%s: the guest gave everything, the step tests nothing" % name)
    if status["actual"] != status["num_pages"]:
        raise TestFailure("%s: config actual %d but the driver counts %d" %
                          (name, status["actual"], status["num_pages"]))
    info = run.qmp.execute("query-balloon")
    qemu_actual = info["actual"]
    driver_bytes = RAM_BYTES - status["num_pages"] * PAGE
    if qemu_actual != driver_bytes:
        raise TestFailure("%s: query-balloon actual %d, driver holds %d pages (= %d bytes)" %
                          (name, qemu_actual, status["num_pages"], driver_bytes))
    delta = {key: status[key] - before[key] for key in counters(status)}
    results.append({
        "step": name, "qmp_target_bytes": target_bytes, "qemu_num_pages": expected,
        "driver_num_pages": status["num_pages"], "query_balloon_actual": qemu_actual,
        "stalled": bool(status["stalled"]), "delta": delta,
    })


def run_stats_step(run, name, results):
    """QEMU holds the stats buffer until its polling timer returns it (interval in s)."""
    path = "/machine/peripheral/balloon0"
    before = dict(run.status)
    run.qmp.execute("qom-set", {"path": path, "property": "guest-stats-polling-interval",
                                "value": 1})
    try:
        status = run.wait_status(lambda s: s["stats"] > before["stats"], STATS_TIMEOUT,
                                 "the stats buffer to come back and be reposted")
        stats = run.qmp.execute("qom-get", {"path": path, "property": "guest-stats"})
    finally:
        run.qmp.execute("qom-set", {"path": path, "property": "guest-stats-polling-interval",
                                    "value": 0})
    values = stats.get("stats", {})
    if stats.get("last-update", 0) <= 0:
        raise TestFailure("%s: guest-stats has no last-update: %s" % (name, stats))
    if values.get("stat-total-memory") != status["memtot"]:
        raise TestFailure("%s: QEMU's stat-total-memory %s, the guest sent %d" %
                          (name, values.get("stat-total-memory"), status["memtot"]))
    if values.get("stat-free-memory") != status["free_pages"] * PAGE:
        raise TestFailure("%s: QEMU's stat-free-memory %s, the guest has %d free pages" %
                          (name, values.get("stat-free-memory"), status["free_pages"]))
    delta = {key: status[key] - before[key] for key in counters(status)}
    results.append({
        "step": name, "qmp_target_bytes": None, "qemu_num_pages": None,
        "driver_num_pages": status["num_pages"], "query_balloon_actual": None,
        "stalled": False, "delta": delta,
        "stats_buffers": status["stats"] - before["stats"],
        "guest_stats": values,
    })


def run_reporting_step(run, summary):
    """With the balloon empty, the guest reports its free 2 MiB blocks 2 s after they appear
    (Linux's delay); wait until they are all acknowledged."""
    negotiated = run.info["driver"]["negotiated"]
    if run.args.hint and not negotiated & (1 << FEATURE_FREE_PAGE_HINT):
        raise TestFailure("FREE_PAGE_HINT not negotiated: %#x" % negotiated)
    if not negotiated & (1 << FEATURE_PAGE_REPORTING):
        raise TestFailure("PAGE_REPORTING not negotiated: %#x" % run.info["driver"]["negotiated"])
    deadline = time.monotonic() + REPORT_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        time.sleep(1.0)
        run.send("s")
        status = run.wait_status(lambda s: True, STEP_TIMEOUT, "a status line")
        now = (status["report_acks"], status["reported_pages"])
        if now == last and status["reported_pages"] > 0:
            summary["reporting_status"] = {"report_acks": now[0], "reported_pages": now[1]}
            return
        last = now
        # Drain the status lines queued meanwhile.
        while run._take_line(time.monotonic() + 0.1):
            pass
    raise TestFailure("the guest reported nothing within %.0f s (last: %s)" %
                      (REPORT_TIMEOUT, last))


def check_poison_setup(run, legacy, summary):
    """--poison: the firmware poisons its free pages (Linux page_poison=1), so the driver keeps
    PAGE_POISON, keeps PAGE_REPORTING (dropped without PAGE_POISON) and writes 0xaaaaaaaa to
    poison_val; QEMU must return that value from its config space."""
    poison = run.info.get("poison")
    if not run.args.poison:
        if poison is not None:
            raise TestFailure("this is the poison firmware; run it with --poison")
        return
    if poison is None:
        raise TestFailure("no 'poison:' line: --poison needs vbsim-firmware-poison.elf")
    summary["poison"] = poison
    negotiated = run.info["driver"]["negotiated"]
    problems = []
    for bit, name in ((FEATURE_PAGE_POISON, "PAGE_POISON"),
                      (FEATURE_PAGE_REPORTING, "PAGE_REPORTING")):
        if not negotiated & (1 << bit):
            problems.append("%s not negotiated: %#x" % (name, negotiated))
    if poison.get("written") != POISON_VALUE:
        problems.append("the driver wrote poison_val %#x, expected %#x" %
                        (poison.get("written", 0), POISON_VALUE))
    # Modern: one le32 write; legacy: four bytes, as Linux's vm_set.
    want_writes = 4 if legacy else 1
    if poison.get("writes") != want_writes:
        problems.append("%s writes to poison_val, expected %d" % (poison.get("writes"),
                                                                  want_writes))
    if poison.get("read") != POISON_VALUE:
        problems.append("poison_val reads back %#x from QEMU's config space, expected %#x" %
                        (poison.get("read", 0), POISON_VALUE))
    if problems:
        raise TestFailure("; ".join(problems))


def check_poison_content(run):
    """--poison: the firmware read every page of the blocks still reported at the end; each
    page it had filled with 0xaa must still hold it (QEMU discarded nothing)."""
    content = run.info.get("poison_reported")
    if content is None:
        return ["no 'poison: reported' line from the firmware"]
    problems = []
    if content["blocks"] == 0 or content["pages_kept"] == 0:
        problems.append("the firmware checked no poisoned reported page: %s" % content)
    if content["pages_lost"]:
        problems.append("%d reported pages lost their poison (%d read as zeros), e.g. %#x" %
                        (content["pages_lost"], content["pages_zeroed"], content["first_lost"]))
    return problems


def check_log(run):
    """Trace entries and guest errors, once QEMU has ended and flushed its log."""
    final = run.info["final"]
    memory = run.info["memory"]
    sent = final["inflated_pfns"] + final["deflated_pfns"]
    per_page = collections.Counter()
    other = []
    bad_addr = 0
    queue_vq = {}
    pops = []  # (vq, in_num, out_num)
    discards = collections.Counter()  # length in bytes -> entries
    discard_failures = []
    with open(run.log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            line = line.rstrip("\n")
            match = TRACE_RE.search(line)
            notify = NOTIFY_RE.search(line)
            pop = POP_RE.search(line)
            discard = DISCARD_RE.search(line)
            if match:
                per_page[int(match.group(1), 16)] += 1
            elif BAD_ADDR_RE.search(line):
                bad_addr += 1
            elif notify:
                queue_vq[int(notify.group(1))] = notify.group(2)
            elif pop:
                pops.append((pop.group(1), int(pop.group(2)), int(pop.group(3))))
            elif discard:
                discards[int(discard.group(1), 16)] += 1
                if int(discard.group(4)) != 0:
                    discard_failures.append(line)
            elif line.strip():
                other.append(line)
    problems = []
    if run.args.reporting:
        # Queues are numbered from the negotiated features: reporting_vq follows statsq and
        # free_page_vq when they exist.
        negotiated = run.info["driver"]["negotiated"]
        reporting_queue = 2 + sum(1 for bit in (FEATURE_STATS_VQ, FEATURE_FREE_PAGE_HINT)
                                  if negotiated & (1 << bit))
        vq = queue_vq.get(reporting_queue)
        reports = [(in_num, out_num) for pop_vq, in_num, out_num in pops if pop_vq == vq]
        blocks = sum(in_num for in_num, _ in reports)
        run.reporting = {"requests": len(reports), "blocks": blocks, "queue": reporting_queue,
                         "largest": max((in_num for in_num, _ in reports), default=0)}
        if vq is None or not reports:
            problems.append("no reporting_vq element in QEMU's trace")
        if any(out_num for _, out_num in reports):
            problems.append("reporting_vq elements with device-readable parts")
        if blocks != final.get("reported_blocks") or len(reports) != final.get("report_acks"):
            problems.append("QEMU popped %d reporting_vq elements of %d blocks; the driver had "
                            "%s acknowledged of %s blocks" % (len(reports), blocks,
                                                              final.get("report_acks"),
                                                              final.get("reported_blocks")))
        if run.reporting["largest"] > 32:
            problems.append("a report of %d blocks (Linux sends at most 32)" %
                            run.reporting["largest"])
    # What QEMU gave back to the host: every inflated PFN (4 KiB), and every reported block
    # (2 MiB) unless the guest set a poison value.
    run.discards = {"4k": discards[PAGE], "2m": discards[REPORT_BLOCK_BYTES],
                    "other": sum(count for length, count in discards.items()
                                 if length not in (PAGE, REPORT_BLOCK_BYTES))}
    if discard_failures:
        problems.append("ram_block_discard_range failed: %s" % discard_failures[0])
    if run.discards["other"]:
        problems.append("ram_block_discard_range of unexpected lengths: %s" % dict(discards))
    if run.discards["4k"] != final["inflated_pfns"]:
        problems.append("%d 4 KiB ram_block_discard_range entries, the driver inflated %d PFNs" %
                        (run.discards["4k"], final["inflated_pfns"]))
    expected_2m = 0 if run.args.poison else \
        (final.get("reported_blocks", 0) if run.args.reporting else 0)
    if run.discards["2m"] != expected_2m:
        problems.append("%d 2 MiB ram_block_discard_range entries, expected %d (%s)" %
                        (run.discards["2m"], expected_2m,
                         "poison_val is set: QEMU must discard no reported block"
                         if run.args.poison else "one per reported block"))
    if other:
        problems.append("QEMU logged guest errors:\n    " + "\n    ".join(other[:10]))
    if bad_addr:
        problems.append("%d virtio_balloon_bad_addr trace entries" % bad_addr)
    traced = sum(per_page.values())
    if traced != sent:
        problems.append("%d virtio_balloon_handle_output entries, the driver sent %d PFNs" %
                        (traced, sent))
    outside = [gpa for gpa in per_page
               if gpa % PAGE or not memory["guest_base"] <= gpa < memory["guest_end"]]
    if outside:
        problems.append("%d PFNs outside the guest allocator's RAM [%#x, %#x), e.g. %#x" %
                        (len(outside), memory["guest_base"], memory["guest_end"], outside[0]))
    if final["num_pages"] == 0:
        odd = [gpa for gpa, count in per_page.items() if count % 2]
        if odd:
            problems.append("%d pages inflated and deflated unequally, e.g. %#x" %
                            (len(odd), odd[0]))
    return problems, traced, len(per_page)


def run_mode(args, legacy):
    mode = "legacy (force-legacy=true, version 1)" if legacy else \
        "modern (force-legacy=false, version 2)"
    workdir = tempfile.mkdtemp(prefix="vbsim-qemu-")
    run = QemuRun(args, legacy, workdir)
    results = []
    summary = {"mode": "legacy" if legacy else "modern", "steps": results}
    started = time.monotonic()
    ok = False
    try:
        run.start()
        driver = run.wait_info("driver", BOOT_TIMEOUT)
        run.wait_status(lambda s: s["state"] == "running", BOOT_TIMEOUT, "the driver to run")
        summary["device"] = run.info["device"]
        summary["driver"] = driver
        summary["memory"] = run.info["memory"]
        if driver.get("probe") != "ok":
            raise TestFailure("probe failed: %s" % driver)
        want = 1 if legacy else 2
        if driver["version"] != want:
            raise TestFailure("virtio-mmio version %d, expected %d" % (driver["version"], want))
        check_poison_setup(run, legacy, summary)
        for name, target in STEPS:
            if target is None:
                run_stats_step(run, name, results)
            else:
                run_step(run, name, target, results)
        if args.reporting:
            run_reporting_step(run, summary)
        run.send("q")
        final = run.wait_info("final", EXIT_TIMEOUT)
        summary["final"] = final
        if args.poison:
            summary["poison_reported"] = run.info.get("poison_reported")
        for queue_name in ("inflate", "deflate", "stats"):
            summary["used_" + queue_name] = run.info.get("used_" + queue_name)
        try:
            code = run.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TestFailure("the firmware did not end QEMU after 'q'")
        if code != 0 or final.get("verdict") != "PASS":
            raise TestFailure("the firmware reported failure (QEMU exit %d): %s" % (code, final))
        problems, traced, pages = check_log(run)
        if args.reporting:
            summary["reporting"] = getattr(run, "reporting", None)
        summary["discards"] = getattr(run, "discards", None)
        if args.poison:
            problems += check_poison_content(run)
        summary["trace_entries"] = traced
        summary["trace_distinct_pages"] = pages
        if problems:
            raise TestFailure("; ".join(problems))
        ok = True
    except TestFailure as failure:
        summary["failure"] = str(failure)
        print("FAIL %s: %s" % (mode, failure))
    finally:
        run.stop()
        summary["seconds"] = round(time.monotonic() - started, 2)
        if ok and not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            summary["logs"] = workdir
            print("  logs kept in %s (uart.txt, qemu.log, stderr.txt)" % workdir)
    if ok:
        print_summary(mode, summary)
    return ok, summary


def print_summary(mode, summary):
    device = summary["device"]
    driver = summary["driver"]
    print("PASS %s in %.1f s" % (mode, summary["seconds"]))
    print("  device_features=%#x negotiated=%#x queue_num_max=%s" %
          (device["device_features"], driver["negotiated"], device["queue_num_max"]))
    print("  %-40s %10s %9s %9s %7s %7s %5s %5s %5s %5s" %
          ("step", "target", "num_pages", "actual", "+inPFN", "+dePFN", "+inB", "+deB",
           "kicks", "irqs"))
    for step in summary["steps"]:
        delta = step["delta"]
        target = "-" if step["qmp_target_bytes"] is None else \
            "%dM" % (step["qmp_target_bytes"] // MIB)
        actual = "-" if step["query_balloon_actual"] is None else \
            "%.2fM" % (step["query_balloon_actual"] / MIB)
        print("  %-40s %10s %9d %9s %7d %7d %5d %5d %5d %5d%s" %
              (step["step"], target, step["driver_num_pages"], actual,
               delta["inflated_pfns"], delta["deflated_pfns"], delta["inflate_bufs"],
               delta["deflate_bufs"], delta["kicks"], delta["interrupts"],
               "  (stalled at LOW)" if step["stalled"] else ""))
    final = summary["final"]
    print("  total: %d PFNs inflated, %d deflated, %d+%d buffers, %d kicks, %d interrupts, "
          "%d stats buffers; trace: %d entries over %d pages" %
          (final["inflated_pfns"], final["deflated_pfns"], final["inflate_bufs"],
           final["deflate_bufs"], final["kicks"], final["interrupts"], final["stats"],
           summary["trace_entries"], summary["trace_distinct_pages"]))
    if summary.get("reporting"):
        print("  reporting: %(requests)d requests, %(blocks)d blocks of 2 MiB (largest "
              "%(largest)d) on queue %(queue)d in QEMU's trace" % summary["reporting"])
    if summary.get("discards"):
        print("  ram_block_discard_range: %(4k)d of 4 KiB (inflated PFNs), %(2m)d of 2 MiB "
              "(reported blocks)" % summary["discards"])
    if summary.get("poison"):
        poison = summary["poison"]
        print("  poison_val: written %#x in %d write(s), read back %#x" %
              (poison["written"], poison["writes"], poison["read"]))
        content = summary.get("poison_reported") or {}
        print("  reported pages read by the firmware: %s blocks, %s pages still 0xaa, %s lost, "
              "%s unchecked (allocated when last looked at)" %
              (content.get("blocks"), content.get("pages_kept"), content.get("pages_lost"),
               content.get("pages_unchecked")))
    used = ", ".join("%s len=%s" % (name, (summary.get("used_" + name) or {}).get("last_len"))
                     for name in ("inflate", "deflate", "stats"))
    print("  used-ring lengths written by QEMU: %s" % used)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firmware", required=True, help="the firmware ELF (vbsim-firmware.elf)")
    parser.add_argument("--qemu", default="qemu-system-riscv64")
    parser.add_argument("--mode", choices=("legacy", "modern", "both"), default="both")
    parser.add_argument("--hint", action="store_true",
                        help="also free-page-hint=on (with an iothread): FREE_PAGE_HINT is "
                             "negotiated and reporting_vq becomes queue 4")
    parser.add_argument("--reporting", action="store_true",
                        help="free-page-reporting=on: after the steps, the guest reports its "
                             "free blocks and QEMU's virtqueue trace must show them")
    parser.add_argument("--poison", action="store_true",
                        help="with the poison firmware (vbsim-firmware-poison.elf): "
                             "page-poison=on and free-page-reporting=on; PAGE_POISON and "
                             "poison_val = 0xaaaaaaaa, reports that QEMU does not discard")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep each run's UART, QEMU log and stderr (always kept on failure)")
    parser.add_argument("--json", help="write the per-step results to this file")
    parser.add_argument("--device-props", default="",
                        help="extra virtio-balloon-device properties, e.g. ,deflate-on-oom=on")
    args = parser.parse_args()
    if not os.path.isfile(args.firmware):
        parser.error("no firmware at %s (build firmware/riscv-virt first)" % args.firmware)
    if shutil.which(args.qemu) is None:
        parser.error("%s not found (Debian package qemu-system-misc)" % args.qemu)

    if args.poison:
        args.reporting = True
        args.device_props += ",page-poison=on"
    if args.reporting:
        args.device_props += ",free-page-reporting=on"
    if args.hint:
        args.device_props += ",free-page-hint=on,iothread=balloon-io"
    modes = {"legacy": [True], "modern": [False], "both": [True, False]}[args.mode]
    all_ok = True
    summaries = []
    for legacy in modes:
        ok, summary = run_mode(args, legacy)
        all_ok = all_ok and ok
        summaries.append(summary)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(summaries, out, indent=2)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

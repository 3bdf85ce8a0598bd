// vbsim bare-metal firmware for qemu-system-riscv64 -M virt -bios none -m 128M.
//
// Runs the unmodified sw/ balloon driver (sw::balloon::BalloonDriver on sw::guest::Kernel and
// sw::guest::GuestMemory) against whatever virtio-mmio balloon the machine has, and reports
// on UART0 in lines a host script parses:
//   virtio-mmio: slot=N ...          one per populated slot
//   device: ...                      what the balloon's registers say before the driver runs
//   memory: ...                      the RAM handed to GuestMemory (PFNs outside it are bugs)
//   driver: probe=ok ...             after probe
//   balloon: num_pages=... state=... after every change (see print_status)
//   poison: ...                      poison build only: after probe (what was negotiated,
//                                    written to and read back from poison_val), and on 'q'
//                                    (the content of the reported pages)
//   balloon: final ... verdict=PASS  on the host's 'q' command, then QEMU exits
// Commands from the host on UART0 (one byte each, anything else is ignored):
//   's' print a status line now, 'q' check invariants and end QEMU with pass/fail,
//   'f' end QEMU with a deliberate failure (to test the harness).
//
// No interrupts: the main loop polls UART0, the balloon's InterruptStatus (calling
// Kernel::interrupt() while it is non-zero) and runs Kernel::run_once(), which fires due
// timers by reading the HAL's clock.
//
// Built twice (CMakeLists.txt): vbsim-firmware.elf, and vbsim-firmware-poison.elf with
// VBSIM_FW_PAGE_POISON=1, a guest that poisons its free pages as Linux's page_poison=1 does
// (FreePageInit::kPoison: PAGE_POISON negotiated, poison_val = 0xaaaaaaaa).

#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "runtime.h"
#include "spec/virtio.h"
#include "sw/balloon/balloon_driver.h"
#include "sw/guest/guest_memory.h"
#include "sw/guest/kernel.h"
#include "sw/virtio/virtio_mmio_device.h"
#include "uart.h"
#include "virt_hal.h"

#ifndef VBSIM_FW_PAGE_POISON
#define VBSIM_FW_PAGE_POISON 0
#endif

extern "C" char __image_end[];
extern "C" void* memset(void* destination, int value, size_t length);

namespace {

using namespace vbsim;
namespace mmio = spec::mmio;
namespace sb = spec::balloon;
using fw::console;
using sw::balloon::BalloonDriver;
using sw::balloon::BalloonDriverParams;
using sw::balloon::BalloonState;
using sw::balloon::FreePageInit;

constexpr uint32_t kQueueSize = 128;  // QEMU's balloon queues hold 128; QueueNumMax says 1024
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kMaxGuestPages = fw::board::kRamBytes / kPageSize;

// Bitmap storage, sized for all of RAM (GuestMemory: two hierarchical bitmaps; the driver:
// one). Each level is 1/64 of the one below: 2 * pages/64 words covers any level count.
uint64_t g_memory_storage[2 * 2 * kMaxGuestPages / 64 + 64];
uint64_t g_balloon_bitmap[2 * kMaxGuestPages / 64 + 64];
// The driver's rings and buffers (legacy QueuePFN needs page alignment).
alignas(4096) uint8_t g_dma_region[56 * 1024];

// The driver's features: the traditional three, and PAGE_REPORTING and FREE_PAGE_HINT when the
// device offers them (QEMU: free-page-reporting=on, free-page-hint=on; both off by default).
// QEMU starts hinting rounds only around a migration, so FREE_PAGE_HINT here checks the
// negotiation and the queue numbering (reporting_vq moves from 3 to 4). The poison build also
// takes PAGE_POISON (QEMU offers it by default, page-poison=on).
constexpr bool kPagePoison = VBSIM_FW_PAGE_POISON != 0;
constexpr uint64_t kDriverFeatures =
    spec::feature::bit(sb::kFeatureMustTellHost) | spec::feature::bit(sb::kFeatureStatsVq) |
    spec::feature::bit(sb::kFeatureDeflateOnOom) | spec::feature::bit(sb::kFeatureFreePageHint) |
    spec::feature::bit(sb::kFeaturePageReporting) |
    (kPagePoison ? spec::feature::bit(sb::kFeaturePagePoison) : uint64_t{0});
constexpr FreePageInit kFreePageInit = kPagePoison ? FreePageInit::kPoison : FreePageInit::kNone;
constexpr uint64_t kPoisonWord = 0xaaaaaaaaaaaaaaaa;  // Linux's PAGE_POISON byte, 0xaa

fw::VirtHal g_hal;

struct Slot {
    uint64_t base = 0;
    unsigned index = 0;
};

// Lists the populated virtio-mmio windows and returns the first balloon.
bool find_balloon(Slot& found) {
    bool have = false;
    for (unsigned n = 0; n < fw::board::kVirtioMmioSlots; ++n) {
        const uint64_t base = fw::board::kVirtioMmioBase + n * fw::board::kVirtioMmioStride;
        if (g_hal.mmio_read32(base + mmio::kMagicValue) != mmio::kMagic) {
            continue;
        }
        const uint32_t device_id = g_hal.mmio_read32(base + mmio::kDeviceId);
        if (device_id == 0) {
            continue;
        }
        console()
            .str("virtio-mmio:")
            .kv("slot", n)
            .kvhex("base", base)
            .kv("version", g_hal.mmio_read32(base + mmio::kVersion))
            .kv("device_id", device_id)
            .kvhex("vendor", g_hal.mmio_read32(base + mmio::kVendorId))
            .endl();
        if (device_id == sb::kDeviceId && !have) {
            found.base = base;
            found.index = n;
            have = true;
        }
    }
    return have;
}

// What the device shows before the driver touches it: both feature words and QueueNumMax of
// queues 0..3 (3 does not exist without FREE_PAGE_HINT / PAGE_REPORTING).
void report_device(uint64_t base) {
    g_hal.mmio_write32(base + mmio::kDeviceFeaturesSel, 0);
    uint64_t features = g_hal.mmio_read32(base + mmio::kDeviceFeatures);
    g_hal.mmio_write32(base + mmio::kDeviceFeaturesSel, 1);
    features |= uint64_t{g_hal.mmio_read32(base + mmio::kDeviceFeatures)} << 32;
    fw::Uart& out = console();
    out.str("device:")
        .kv("version", g_hal.mmio_read32(base + mmio::kVersion))
        .kvhex("device_features", features)
        .str(" queue_num_max=");
    for (uint32_t q = 0; q < 4; ++q) {
        g_hal.mmio_write32(base + mmio::kQueueSel, q);
        out.str(q == 0 ? "" : ",").dec(g_hal.mmio_read32(base + mmio::kQueueNumMax));
    }
    g_hal.mmio_write32(base + mmio::kQueueSel, 0);
    out.kv("num_pages", g_hal.mmio_read32(base + mmio::kConfig + sb::kConfigNumPages))
        .kv("actual", g_hal.mmio_read32(base + mmio::kConfig + sb::kConfigActual))
        .endl();
}

// The poison build's page contents. Linux with page_poison=1 fills every page it frees with
// 0xaa and checks the pattern when it allocates the page again ("pagealloc: memory
// corruption"); that is why the host must not discard a reported page while poison_val != 0
// (a discarded page reads back as zeros). GuestMemory keeps no page contents, so the firmware
// does the filling: every page at boot, and every page the balloon gives back (it comes back
// zeroed: QEMU discards each inflated page), found by sync() after the balloon moved. On 'q',
// check_reported() reads every page of every reported free block.
//
// A page counts as poisoned only from the fill until the firmware next sees it allocated
// (by the balloon, or taken out of the allocator for a report in flight). Pages that were
// allocated when last looked at and are now in a reported block were reported before the
// firmware could fill them: they are counted as unchecked, never as lost.
class PagePoison {
  public:
    explicit PagePoison(sw::guest::GuestMemory& memory) : memory_(memory) {}

    // At boot every page is free: fill them all.
    void poison_all() {
        for (uint64_t i = 0; i < memory_.total_pages(); ++i) {
            fill(i);
        }
    }

    // Fills the pages that became free since the last call; forgets the pages now allocated.
    void sync() {
        const uint64_t pages = memory_.total_pages();
        const uint64_t whole_words = memory_.block_count(sw::guest::GuestMemory::kMinBlockOrder);
        for (uint64_t w = 0; w * 64 < pages; ++w) {
            // A whole word free and filled: nothing to do (most of memory, most of the time).
            if (w < whole_words && poisoned_[w] == ~uint64_t{0} &&
                memory_.is_free_block(sw::guest::GuestMemory::kMinBlockOrder, w)) {
                continue;
            }
            for (uint64_t i = w * 64; i < pages && i < (w + 1) * 64; ++i) {
                const uint64_t bit = uint64_t{1} << (i & 63);
                if (memory_.is_allocated(memory_.page_address(i))) {
                    poisoned_[w] &= ~bit;
                } else if ((poisoned_[w] & bit) == 0 && !in_reported_block(i)) {
                    fill(i);
                }
            }
        }
    }

    // Reads every page of the reported free blocks.
    void check_reported() {
        const unsigned order = memory_.reporting_order();
        if (!memory_.page_reporting_enabled()) {
            return;
        }
        for (uint64_t block = 0; block < memory_.block_count(order); ++block) {
            if (!memory_.is_reported(block) || !memory_.is_free_block(order, block)) {
                continue;
            }
            ++blocks_checked_;
            for (uint64_t i = block << order; i < (block + 1) << order; ++i) {
                if ((poisoned_[i / 64] & (uint64_t{1} << (i & 63))) == 0) {
                    ++pages_unchecked_;
                    continue;
                }
                const auto* words = reinterpret_cast<const volatile uint64_t*>(
                    static_cast<uintptr_t>(memory_.page_address(i)));
                uint64_t differing = 0;
                uint64_t zero = 0;
                for (uint64_t k = 0; k < kPageSize / 8; ++k) {
                    differing += words[k] != kPoisonWord ? 1 : 0;
                    zero += words[k] == 0 ? 1 : 0;
                }
                if (differing == 0) {
                    ++pages_kept_;
                } else {
                    if (pages_lost_ == 0) {
                        first_lost_ = memory_.page_address(i);
                    }
                    ++pages_lost_;
                    pages_zeroed_ += zero == kPageSize / 8 ? 1 : 0;
                }
            }
        }
    }

    uint64_t pages_filled() const { return pages_filled_; }
    uint64_t blocks_checked() const { return blocks_checked_; }
    uint64_t pages_kept() const { return pages_kept_; }
    uint64_t pages_lost() const { return pages_lost_; }
    uint64_t pages_zeroed() const { return pages_zeroed_; }
    uint64_t pages_unchecked() const { return pages_unchecked_; }
    uint64_t first_lost() const { return first_lost_; }

  private:
    void fill(uint64_t page_index) {
        asm volatile("" ::: "memory");
        memset(reinterpret_cast<void*>(static_cast<uintptr_t>(memory_.page_address(page_index))),
               0xaa, kPageSize);
        asm volatile("" ::: "memory");
        poisoned_[page_index / 64] |= uint64_t{1} << (page_index & 63);
        ++pages_filled_;
    }
    bool in_reported_block(uint64_t page_index) const {
        return memory_.page_reporting_enabled() &&
               memory_.is_reported(page_index >> memory_.reporting_order());
    }

    sw::guest::GuestMemory& memory_;
    uint64_t poisoned_[kMaxGuestPages / 64 + 1] = {};  // set = holds 0xaa since filled
    uint64_t pages_filled_ = 0;
    uint64_t blocks_checked_ = 0;
    uint64_t pages_kept_ = 0;
    uint64_t pages_lost_ = 0;
    uint64_t pages_zeroed_ = 0;
    uint64_t pages_unchecked_ = 0;
    uint64_t first_lost_ = 0;
};

// Everything a status line shows; a line is printed whenever `key` changes.
struct Snapshot {
    uint64_t num_pages = 0;
    uint64_t target = 0;
    BalloonState state = BalloonState::kUnprobed;
    uint64_t config_changes = 0;
    uint64_t stats_updates = 0;
    uint64_t errors = 0;
    bool stalled = false;

    bool operator!=(const Snapshot& other) const {
        return num_pages != other.num_pages || target != other.target || state != other.state ||
               config_changes != other.config_changes || stats_updates != other.stats_updates ||
               errors != other.errors || stalled != other.stalled;
    }
};

class Firmware {
  public:
    Firmware(const Slot& slot, sw::guest::GuestMemory& memory, sw::guest::Kernel& kernel,
             BalloonDriver& driver, PagePoison* poison)
        : slot_(slot), memory_(memory), kernel_(kernel), driver_(driver), poison_(poison) {}

    [[noreturn]] void run();

  private:
    Snapshot snapshot() const;
    void print_status(const Snapshot& now);
    void handle_command(int command);
    [[noreturn]] void finish();
    void report_used_lengths();
    uint32_t config_actual() const {
        return g_hal.mmio_read32(slot_.base + mmio::kConfig + sb::kConfigActual);
    }

    Slot slot_;
    sw::guest::GuestMemory& memory_;
    sw::guest::Kernel& kernel_;
    BalloonDriver& driver_;
    PagePoison* poison_;  // the poison build's page contents (null otherwise)
    uint64_t acks_at_last_sync_ = 0;
    uint64_t failures_at_last_move_ = 0;
    uint64_t pages_at_last_move_ = 0;
    // Raised lines by the InterruptStatus bits the loop saw (one raise may carry both).
    uint64_t isr_used_ = 0;
    uint64_t isr_config_ = 0;
};

Snapshot Firmware::snapshot() const {
    const auto& c = driver_.counters();
    Snapshot s;
    s.num_pages = driver_.num_pages();
    s.target = driver_.target_pages();
    s.state = driver_.state();
    s.config_changes = c.config_changes;
    s.stats_updates = c.stats_updates;
    s.errors = c.errors;
    // The allocator refused since the balloon last moved, the target is still above it and
    // nothing is in flight: the driver waits for its retry. (Acks come with the next
    // interrupt, so a round in flight will still move the balloon.)
    s.stalled = c.alloc_failures > failures_at_last_move_ && s.target > s.num_pages &&
                !driver_.inflate_in_flight() && !driver_.deflate_in_flight();
    return s;
}

void Firmware::print_status(const Snapshot& now) {
    const auto& c = driver_.counters();
    console()
        .str("balloon:")
        .kv("num_pages", now.num_pages)
        .kv("actual", config_actual())
        .kv("target", now.target)
        .kv("inflated_pfns", c.pfns_inflated)
        .kv("deflated_pfns", c.pfns_deflated)
        .kv("inflate_bufs", c.inflate_rounds)
        .kv("deflate_bufs", c.deflate_rounds)
        .kv("kicks", c.kicks)
        .kv("interrupts", c.interrupts)
        .kv("isr_used", isr_used_)
        .kv("isr_config", isr_config_)
        .kv("config", c.config_changes)
        .kv("actual_writes", c.actual_writes)
        .kv("stats", c.stats_updates)
        .kv("alloc_failures", c.alloc_failures)
        .kv("stalled", now.stalled ? 1 : 0)
        .kv("free_pages", memory_.free_pages())
        .kv("memtot", memory_.stat(sb::kStatMemTotal))
        .kv("report_acks", c.report_acks)
        .kv("reported_pages", memory_.reported_pages())
        .kv("errors", c.errors)
        .kv("t_us", g_hal.now_ns() / 1000)
        .kvstr("state", sw::balloon::state_name(now.state))
        .endl();
}

void Firmware::run() {
    Snapshot last = snapshot();
    print_status(last);
    for (;;) {
        const int command = console().get_char();
        if (command >= 0) {
            handle_command(command);
        }
        // Level-triggered, like the PLIC line would be: raise it while the device has
        // something pending; the driver's handler reads and acknowledges the bits.
        const uint32_t isr = g_hal.mmio_read32(slot_.base + mmio::kInterruptStatus);
        if (isr != 0) {
            isr_used_ += (isr & mmio::kInterruptUsedBuffer) != 0 ? 1 : 0;
            isr_config_ += (isr & mmio::kInterruptConfigChange) != 0 ? 1 : 0;
            kernel_.interrupt(slot_.index);
        }
        kernel_.run_once();
        // Poison build: pages the balloon gave back are filled, pages it took are forgotten,
        // whenever the host acknowledged a round.
        const uint64_t acks = driver_.counters().inflate_acks + driver_.counters().deflate_acks;
        if (poison_ != nullptr && acks != acks_at_last_sync_) {
            acks_at_last_sync_ = acks;
            poison_->sync();
        }
        if (driver_.num_pages() != pages_at_last_move_) {
            pages_at_last_move_ = driver_.num_pages();
            failures_at_last_move_ = driver_.counters().alloc_failures;
        }
        const Snapshot now = snapshot();
        if (now != last) {
            print_status(now);
            last = now;
        }
        if (now.state == BalloonState::kFailed) {
            console().str("balloon: driver failed").endl();
            fw::exit_qemu(4);
        }
    }
}

void Firmware::handle_command(int command) {
    switch (command) {
        case 's':
            print_status(snapshot());
            break;
        case 'q':
            finish();
        case 'f':
            console().str("firmware: failing on request").endl();
            fw::exit_qemu(3);
        default:
            break;
    }
}

// The used ring's last element per queue, to show what length the device writes. The rings
// sit where BalloonDriver places them (three equal page-aligned slots from the start of its
// DMA region); the used index must match the driver's own count of returned buffers, or the
// report says the layout is unknown.
void Firmware::report_used_lengths() {
    namespace sv = sw::virtio;
    const uint32_t version = driver_.device().version();
    const uint64_t legacy = sv::VirtioMmioDevice::ring_bytes(kQueueSize, mmio::kVersionLegacy);
    const uint64_t modern = sv::VirtioMmioDevice::ring_bytes(kQueueSize, mmio::kVersionModern);
    const uint64_t slot_bytes = spec::align_up(legacy > modern ? legacy : modern, 4096);
    const uint64_t base = spec::align_up(reinterpret_cast<uintptr_t>(g_dma_region), 4096);
    const auto& c = driver_.counters();
    // Buffers the device has returned so far on each queue.
    const uint64_t returned[3] = {c.inflate_acks, c.deflate_acks, c.stats_updates - 1};
    const char* const names[3] = {"inflate", "deflate", "stats"};
    for (uint16_t q = 0; q < 3; ++q) {
        const sv::QueueLayout layout =
            sv::VirtioMmioDevice::layout_for(q, kQueueSize, base + q * slot_bytes, version);
        uint16_t used_idx = 0;
        g_hal.ram_read(layout.used_ring + 2, &used_idx, sizeof used_idx);
        fw::Uart& out = console();
        out.str("used:").kvstr("queue", names[q]).kv("idx", used_idx);
        if (used_idx != static_cast<uint16_t>(returned[q])) {
            out.kvstr("layout", "unknown").endl();
            continue;
        }
        if (used_idx != 0) {
            const uint64_t element = layout.used_ring + 4 + ((used_idx - 1u) % kQueueSize) * 8u;
            uint32_t id_len[2] = {};
            g_hal.ram_read(element, id_len, sizeof id_len);
            out.kv("last_id", id_len[0]).kv("last_len", id_len[1]);
        }
        out.endl();
    }
}

void Firmware::finish() {
    report_used_lengths();
    const auto& c = driver_.counters();
    const auto& m = memory_.counters();
    unsigned reasons = 0;
    if (driver_.state() != BalloonState::kRunning) {
        reasons |= 1u << 0;
    }
    if (c.errors != 0 || c.wrong_state_calls != 0) {
        reasons |= 1u << 1;
    }
    if (kernel_.spurious_interrupts() != 0) {
        reasons |= 1u << 2;
    }
    if (m.invalid_frees != 0 || m.balloon_accounting_errors != 0) {
        reasons |= 1u << 3;
    }
    if (memory_.ballooned_pages() * memory_.pfns_per_page() != driver_.num_pages()) {
        reasons |= 1u << 4;
    }
    if (driver_.inflate_in_flight() || driver_.deflate_in_flight()) {
        reasons |= 1u << 5;
    }
    if (config_actual() != driver_.num_pages()) {
        reasons |= 1u << 6;
    }
    if (poison_ != nullptr) {
        poison_->sync();
        poison_->check_reported();
        // A poisoned page that no longer holds the poison: Linux would report memory
        // corruption when it allocates the page again.
        if (poison_->pages_lost() != 0) {
            reasons |= 1u << 7;
        }
        console()
            .str("poison: reported")
            .kv("blocks", poison_->blocks_checked())
            .kv("pages_kept", poison_->pages_kept())
            .kv("pages_lost", poison_->pages_lost())
            .kv("pages_zeroed", poison_->pages_zeroed())
            .kv("pages_unchecked", poison_->pages_unchecked())
            .kvhex("first_lost", poison_->first_lost())
            .kv("pages_filled", poison_->pages_filled())
            .endl();
    }
    console()
        .str("balloon: final")
        .kv("num_pages", driver_.num_pages())
        .kv("actual", config_actual())
        .kv("ballooned_pages", memory_.ballooned_pages())
        .kv("inflated_pfns", c.pfns_inflated)
        .kv("deflated_pfns", c.pfns_deflated)
        .kv("inflate_bufs", c.inflate_rounds)
        .kv("deflate_bufs", c.deflate_rounds)
        .kv("inflate_acks", c.inflate_acks)
        .kv("deflate_acks", c.deflate_acks)
        .kv("kicks", c.kicks)
        .kv("interrupts", c.interrupts)
        .kv("spurious", kernel_.spurious_interrupts())
        .kv("stats", c.stats_updates)
        .kv("alloc_failures", c.alloc_failures)
        .kv("retries", c.retries)
        .kv("errors", c.errors)
        .kv("report_requests", c.report_requests)
        .kv("report_acks", c.report_acks)
        .kv("reported_pages", memory_.reported_pages())
        .kv("reported_blocks", driver_.page_reporting().counters().blocks_reported)
        .kv("mmio_reads", g_hal.mmio_reads())
        .kv("mmio_writes", g_hal.mmio_writes())
        .kvhex("reasons", reasons)
        .kvstr("verdict", reasons == 0 ? "PASS" : "FAIL")
        .endl();
    fw::exit_qemu(reasons == 0 ? 0 : 0x100 | reasons);
}

}  // namespace

extern "C" int main() {
    console().init();
    console().str("vbsim firmware: riscv64 virt, sw/ balloon driver").endl();

    Slot slot;
    if (!find_balloon(slot)) {
        console().str("firmware: no virtio balloon (device id 5) in any virtio-mmio slot").endl();
        return 2;
    }
    report_device(slot.base);

    sw::guest::GuestMemoryParams memory_params;
    memory_params.ram_base = spec::align_up(reinterpret_cast<uintptr_t>(__image_end), kPageSize);
    memory_params.ram_bytes = fw::board::kRamEnd - memory_params.ram_base;
    memory_params.page_size = kPageSize;
    const uint64_t pages = memory_params.ram_bytes / kPageSize;
    if (sw::guest::GuestMemory::storage_words_for(pages) > sizeof g_memory_storage / 8 ||
        BalloonDriver::storage_words_for(pages) > sizeof g_balloon_bitmap / 8 ||
        BalloonDriver::dma_region_bytes_for(kQueueSize, kDriverFeatures) > sizeof g_dma_region) {
        fw::panic("static storage too small", 5);
    }
    sw::guest::GuestMemory memory(memory_params, g_memory_storage, sizeof g_memory_storage / 8);
    if (!memory.valid()) {
        fw::panic("GuestMemory refused its parameters", 5);
    }
    const auto& marks = memory.watermarks();
    console()
        .str("memory:")
        .kvhex("image_end", reinterpret_cast<uintptr_t>(__image_end))
        .kvhex("guest_base", memory.ram_base())
        .kvhex("guest_end", memory.ram_base() + memory.total_pages() * kPageSize)
        .kv("pages", memory.total_pages())
        .kvhex("dma_base", reinterpret_cast<uintptr_t>(g_dma_region))
        .kv("dma_bytes", sizeof g_dma_region)
        .kv("wmark_min", marks.min_pages)
        .kv("wmark_low", marks.low_pages)
        .kv("wmark_high", marks.high_pages)
        .endl();

    sw::guest::Kernel kernel(g_hal);
    // Poison build: Linux poisons every page as it enters the free lists, boot included.
    PagePoison poison(memory);
    if (kPagePoison) {
        poison.poison_all();
        g_hal.watch_register(slot.base + mmio::kConfig + sb::kConfigPoisonVal);
    }
    BalloonDriverParams params;
    params.mmio_base = slot.base;
    params.irq_line = slot.index;
    params.queue_size = kQueueSize;
    params.driver_features = kDriverFeatures;
    params.dma_region_base = reinterpret_cast<uintptr_t>(g_dma_region);
    params.dma_region_bytes = sizeof g_dma_region;
    params.free_page_init = kFreePageInit;
    BalloonDriver driver(kernel, memory, params, g_balloon_bitmap, sizeof g_balloon_bitmap / 8);
    const sw::virtio::Result result = driver.probe();
    console()
        .str("driver:")
        .kvstr("probe", sw::virtio::result_name(result))
        .kv("version", driver.device().version())
        .kvhex("device_features", driver.device().device_features())
        .kvhex("negotiated", driver.negotiated_features())
        .kv("queue_size", kQueueSize)
        .endl();
    if (result != sw::virtio::Result::kOk) {
        return 6;
    }
    if (kPagePoison) {
        // What the driver wrote to poison_val (bytes merged on legacy) and what the device
        // returns for it: QEMU keeps the value only with PAGE_POISON negotiated.
        console()
            .str("poison:")
            .kvstr("free_page_init", "poison")
            .kv("page_poison", driver.has_feature(sb::kFeaturePagePoison) ? 1 : 0)
            .kv("page_reporting", driver.has_feature(sb::kFeaturePageReporting) ? 1 : 0)
            .kvhex("written", g_hal.watched_value())
            .kv("writes", g_hal.watched_writes())
            .kvhex("read", g_hal.mmio_read32(slot.base + mmio::kConfig + sb::kConfigPoisonVal))
            .kv("pages_filled", poison.pages_filled())
            .endl();
    }
    Firmware firmware(slot, memory, kernel, driver, kPagePoison ? &poison : nullptr);
    firmware.run();
}

// ---- ending the run ------------------------------------------------------------------------

namespace vbsim::fw {

void exit_qemu(unsigned code) {
    auto* finisher =
        reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(board::kSifiveTest));
    if (code == 0) {
        *finisher = 0x5555;
    } else {
        code &= 0xffff;
        *finisher = ((code == 0 ? 1u : code) << 16) | 0x3333;
    }
    for (;;) {
        asm volatile("wfi");
    }
}

void panic(const char* why, unsigned code) {
    console().str("firmware: PANIC ").str(why).endl();
    exit_qemu(code);
}

}  // namespace vbsim::fw

extern "C" void fw_exit(int code) {
    console().str("firmware: main returned").kv("code", static_cast<unsigned>(code)).endl();
    vbsim::fw::exit_qemu(code == 0 ? 1u : static_cast<unsigned>(code));
}

extern "C" void fw_trap(uint64_t mcause, uint64_t mepc, uint64_t mtval) {
    console()
        .str("firmware: TRAP")
        .kvhex("mcause", mcause)
        .kvhex("mepc", mepc)
        .kvhex("mtval", mtval)
        .endl();
    vbsim::fw::exit_qemu(0x7f);
}

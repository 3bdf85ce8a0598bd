#include "sw/guest/page_reporting.h"

namespace vbsim::sw::guest {

PageReporting::PageReporting(Kernel& kernel, GuestMemory& memory)
    : kernel_(kernel),
      memory_(memory),
      timer_(&PageReporting::timer_function, this),
      work_(&PageReporting::work_function, this) {}

bool PageReporting::register_device(const PageReportingParams& params, uint64_t* storage,
                                    size_t storage_words, ReportFunction report, void* context) {
    if (report == nullptr || report_ != nullptr || params.capacity == 0 ||
        params.capacity > kMaxCapacity || params.budget_fraction == 0) {
        return false;
    }
    if (!memory_.enable_page_reporting(params.order, storage, storage_words,
                                       &PageReporting::free_block_notifier, this)) {
        return false;
    }
    params_ = params;
    report_ = report;
    context_ = context;
    state_ = State::kIdle;
    next_start_ = 0;
    // The initial flush of every zone, after the same delay.
    request();
    return true;
}

void PageReporting::unregister() {
    if (report_ == nullptr) {
        return;
    }
    kernel_.cancel(timer_);
    kernel_.cancel(work_);
    // Forget the reported flags first, so giving the batch back asks for no further pass.
    memory_.disable_page_reporting();
    if (batch_count_ != 0) {
        drain_batch(false);
    }
    in_flight_ = false;
    pass_running_ = false;
    report_ = nullptr;
    context_ = nullptr;
    state_ = State::kIdle;
}

void PageReporting::free_block_notifier(void* context) {
    static_cast<PageReporting*>(context)->request();
}

void PageReporting::request() {
    if (report_ == nullptr || state_ == State::kRequested) {
        return;
    }
    const State previous = state_;
    state_ = State::kRequested;
    // A pass in progress picks the request up when it ends; otherwise wait for blocks to
    // accumulate.
    if (previous == State::kIdle) {
        kernel_.arm(timer_, params_.delay_ns);
    }
}

void PageReporting::timer_function(void* context) {
    auto* self = static_cast<PageReporting*>(context);
    self->kernel_.schedule(self->work_);
}

void PageReporting::work_function(void* context) {
    auto* self = static_cast<PageReporting*>(context);
    if (self->report_ == nullptr) {
        return;
    }
    if (!self->pass_running_) {
        self->start_pass();
    } else if (!self->in_flight_) {
        self->continue_pass();
    }
}

void PageReporting::start_pass() {
    state_ = State::kActive;
    ++counters_.passes;
    pass_running_ = true;
    walk_done_ = false;
    scanned_ = 0;
    start_block_ = next_start_;
    const uint64_t block_pages = uint64_t{1} << params_.order;
    // Only with room to spare: free above LOW plus a full batch of blocks.
    const uint64_t watermark = memory_.watermarks().low_pages + params_.capacity * block_pages;
    if (memory_.free_pages() <= watermark) {
        ++counters_.passes_below_watermark;
        finish_pass();
        return;
    }
    const uint64_t batch_share = uint64_t{params_.capacity} * params_.budget_fraction;
    const uint64_t free_blocks = memory_.free_block_count(params_.order);
    budget_ = static_cast<int64_t>((free_blocks + batch_share - 1) / batch_share);
    continue_pass();
}

void PageReporting::continue_pass() {
    const uint64_t blocks = memory_.block_count(params_.order);
    while (!walk_done_ && scanned_ < blocks) {
        const uint64_t block = (start_block_ + scanned_) % blocks;
        if (!memory_.is_free_block(params_.order, block) || memory_.is_reported(block)) {
            ++scanned_;
            continue;
        }
        if (budget_ < 0) {
            // Out of budget with blocks left: ask for another pass, resume here.
            state_ = State::kRequested;
            ++counters_.passes_out_of_budget;
            next_start_ = block;
            walk_done_ = true;
            break;
        }
        if (!memory_.take_free_block(params_.order, block, BlockUse::kReporting)) {
            // Isolation refused (free at MIN + a block): stop walking, report what we have.
            next_start_ = block;
            walk_done_ = true;
            break;
        }
        ++scanned_;
        batch_[batch_count_++] = block;
        if (batch_count_ == params_.capacity) {
            --budget_;
            if (!send_batch()) {
                finish_pass();
            }
            return;  // resumed by report_done()
        }
    }
    if (!walk_done_) {
        walk_done_ = true;
        next_start_ = blocks == 0 ? 0 : (start_block_ + scanned_) % blocks;
    }
    // The leftover batch before going idle.
    if (batch_count_ != 0) {
        if (!send_batch()) {
            finish_pass();
        }
        return;
    }
    finish_pass();
}

bool PageReporting::send_batch() {
    const uint64_t block_bytes = memory_.page_size() << params_.order;
    for (uint32_t i = 0; i < batch_count_; ++i) {
        batch_blocks_[i].address = memory_.page_address(batch_[i] << params_.order);
        batch_blocks_[i].bytes = block_bytes;
    }
    in_flight_ = true;
    ++counters_.reports;
    if (!report_(context_, batch_blocks_, batch_count_)) {
        in_flight_ = false;
        ++counters_.reports_failed;
        drain_batch(false);
        return false;
    }
    return true;
}

void PageReporting::report_done(bool ok) {
    if (!in_flight_) {
        return;
    }
    in_flight_ = false;
    if (!ok) {
        ++counters_.reports_failed;
    }
    drain_batch(ok);
    if (!ok) {
        finish_pass();
        return;
    }
    // Resume the walk in work context (Linux's pass wakes up in its worker).
    kernel_.schedule(work_);
}

void PageReporting::drain_batch(bool reported) {
    for (uint32_t i = 0; i < batch_count_; ++i) {
        memory_.give_back_block(params_.order, batch_[i], BlockUse::kReporting, reported);
    }
    if (reported) {
        counters_.blocks_reported += batch_count_;
        counters_.pages_reported += uint64_t{batch_count_} << params_.order;
    }
    batch_count_ = 0;
}

void PageReporting::finish_pass() {
    pass_running_ = false;
    walk_done_ = false;
    // Anyone who asked during the pass (or an exhausted budget) gets another one later.
    if (state_ == State::kRequested) {
        kernel_.arm(timer_, params_.delay_ns);
    } else {
        state_ = State::kIdle;
    }
}

}  // namespace vbsim::sw::guest

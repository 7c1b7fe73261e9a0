#pragma once
// Log lines for refusals, at most one per source and reason per interval, with the count
// of what it stands for: a peer that sends thousands of forged requests costs one line
// every 10 s, not one per message. Bounded: at most `max_sources` keys are remembered.
// Thread-safe (the workers share one).
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/string_hash.hpp"
#include "proxy/stats.hpp"

namespace sipproxy::proxy {

class RefusalLog {
  public:
    using Clock = std::chrono::steady_clock;

    explicit RefusalLog(std::chrono::seconds interval = std::chrono::seconds(10),
                        std::size_t max_sources = 4096);

    // Counts one refusal of `source` (an address). When a line is due: the number of
    // refusals it reports (this one included); otherwise nullopt.
    std::optional<std::uint64_t> note(Refusal reason, std::string_view source,
                                      Clock::time_point now);

  private:
    struct Entry {
        Clock::time_point logged;
        std::uint64_t unreported = 0;
    };
    std::chrono::seconds interval_;
    std::size_t max_sources_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
};

}  // namespace sipproxy::proxy

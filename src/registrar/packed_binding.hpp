#pragma once
// The in-memory form of a Binding inside MemoryLocationStore: fixed fields inline and every
// string in one heap block, so a million bindings cost ~250 bytes each instead of ~600
// (eight std::string and a vector, most of them allocating). The AOR is the map key and is
// not repeated here.
#include <cstdint>
#include <memory>
#include <string_view>

#include "registrar/binding.hpp"

namespace sipproxy::registrar::detail {

class PackedBinding {
  public:
    PackedBinding() = default;
    explicit PackedBinding(const Binding& b);

    Binding unpack(std::string_view aor) const;

    std::int64_t expires_ms() const { return expires_ms_; }
    bool live(TimePoint now) const;
    std::uint64_t flow_id() const { return flow_id_; }

  private:
    std::int64_t expires_ms_ = 0;  // since the epoch
    std::int64_t registered_ms_ = 0;
    std::uint64_t flow_id_ = 0;
    std::uint32_t cseq_ = 0;
    std::uint32_t reg_id_ = 0;
    std::uint16_t q_permille_ = 1000;
    std::uint16_t source_port_ = 0;
    // contact, call_id, transport, source_address, user_agent, instance, node, path count, paths:
    // each string as a 16-bit length then its bytes.
    std::unique_ptr<char[]> strings_;
};

std::int64_t to_ms(TimePoint t);
TimePoint from_ms(std::int64_t ms);

}  // namespace sipproxy::registrar::detail

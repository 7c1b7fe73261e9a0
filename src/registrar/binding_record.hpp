#pragma once
// A Binding as one line of text: the value of its field in the Redis hash of its AOR, and
// an element of the change notices the nodes publish. Tab-separated with \t \n \\ escaped,
// a version first so that a later layout can be told apart. The connection (flow_id) is
// node-local and not written; the node that holds it is (RFC 5626 flows across nodes).
#include <optional>
#include <string>
#include <string_view>

#include "registrar/binding.hpp"

namespace sipproxy::registrar {

std::string encode_binding(const Binding& b, std::string_view node);
// Nullopt when `text` is not a record of this version; `aor` is set from the argument.
std::optional<Binding> decode_binding(std::string_view aor, std::string_view text,
                                      std::string* node = nullptr);
// The identity of a binding inside its AOR (the hash field): contact, instance and reg-id.
std::string binding_key(const Binding& b);

}  // namespace sipproxy::registrar

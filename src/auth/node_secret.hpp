#pragma once
// The node secret: 32 random bytes that key the tokens this proxy signs into the
// Record-Route and Via values it inserts (proxy/path_tokens.hpp). It must survive a
// restart (calls set up before it still end), so it lives in a file: 64 hex digits,
// created once with mode 0600. Nodes of a cluster that share the file verify each
// other's tokens.
#include <array>
#include <filesystem>
#include <string>

#include "base/expected.hpp"

namespace sipproxy::auth {

struct NodeSecret {
    std::array<unsigned char, 32> bytes{};
    // From RAND_bytes; throws only if the CSPRNG is unusable.
    static NodeSecret random();
};

// Reads the secret from `path`, or creates the file (0600, 32 fresh random bytes) when it
// does not exist. Errors name the file: unreadable, not 64 hex digits, cannot be created.
// `warning` is set when the file is readable by group or others.
Expected<NodeSecret, std::string> load_or_create_node_secret(const std::filesystem::path& path,
                                                             std::string* warning = nullptr);

}  // namespace sipproxy::auth

#include "proxy/registration_log.hpp"

#include "base/log_fields.hpp"

namespace sipproxy::proxy {

using log::field;

std::string binding_source(const registrar::Binding& b) {
    if (b.source_address.empty()) return {};
    const bool v6 = b.source_address.find(':') != std::string::npos;
    return b.transport + ":" + (v6 ? "[" + b.source_address + "]" : b.source_address) + ":" +
           std::to_string(b.source_port);
}

std::string registration_log_line(std::string_view what, const registrar::Binding& b,
                                  std::uint32_t expires, std::string_view source,
                                  std::string_view user_agent, std::string_view by) {
    std::string out = "registration ";
    out += what;
    out += ':';
    field(out, "aor", b.aor);
    field(out, "contact", b.contact);
    out += " expires=" + std::to_string(expires);
    field(out, "source", source);
    log::quoted(out, "user_agent", user_agent.substr(0, 200));
    field(out, "by", by);
    return out;
}

std::vector<std::string> change_lines(const std::vector<registrar::BindingChange>& changes,
                                      std::string_view source, std::string_view user_agent,
                                      std::string_view by) {
    std::vector<std::string> lines;
    for (const auto& c : changes) {
        using K = registrar::BindingChange::Kind;
        const std::string_view what = c.kind == K::Added     ? "added"
                                      : c.kind == K::Updated ? "updated"
                                                             : "removed";
        const bool own = c.kind == K::Evicted;  // not the REGISTER's binding: its own source
        const std::string own_source = own ? binding_source(c.binding) : std::string();
        lines.push_back(registration_log_line(
            what, c.binding, c.expires, own ? std::string_view(own_source) : source,
            own ? std::string_view(c.binding.user_agent) : user_agent, own ? "max_contacts" : by));
    }
    return lines;
}

std::string expired_line(const registrar::Binding& b) {
    return registration_log_line("expired", b, 0, binding_source(b), b.user_agent, "expiry");
}

}  // namespace sipproxy::proxy

// Method names (RFC 3261 7.1: case-sensitive; plus the extension methods a proxy meets).
#include <array>

#include "sip/message.hpp"

namespace sip {
namespace {

struct MethodName {
    std::string_view name;
    Method method;
};
constexpr std::array<MethodName, 14> kMethods{{
    {"INVITE", Method::Invite},
    {"ACK", Method::Ack},
    {"BYE", Method::Bye},
    {"CANCEL", Method::Cancel},
    {"REGISTER", Method::Register},
    {"OPTIONS", Method::Options},
    {"INFO", Method::Info},
    {"UPDATE", Method::Update},
    {"PRACK", Method::Prack},
    {"SUBSCRIBE", Method::Subscribe},
    {"NOTIFY", Method::Notify},
    {"REFER", Method::Refer},
    {"MESSAGE", Method::Message},
    {"PUBLISH", Method::Publish},
}};

}  // namespace

Method method_from_name(std::string_view name) {
    for (const auto& m : kMethods)
        if (m.name == name) return m.method;
    return Method::Unknown;
}

std::string_view method_name(Method m) {
    for (const auto& e : kMethods)
        if (e.method == m) return e.name;
    return {};
}

}  // namespace sip

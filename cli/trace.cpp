#include "trace.hpp"

#include <signal.h>

#include <iostream>
#include <string_view>

#include "table.hpp"

namespace sipproxyctl {

namespace {

using nlohmann::json;

volatile std::sig_atomic_t interrupted = 0;

void on_signal(int) {
    interrupted = 1;
}

// Ctrl-C (and SIGTERM) end the trace normally: exit status 0.
void catch_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: poll() returns at once
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

std::string text_of(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return "?";
    return printable(it->get<std::string>());
}

std::string describe_filter(const json& filter) {
    std::string out;
    for (const char* key : {"call_id", "user", "source"}) {
        if (!filter.contains(key)) continue;
        out += out.empty() ? "" : ", ";
        out += std::string(key) + " " + text_of(filter, key);
    }
    return out.empty() ? "every message" : out;
}

}  // namespace

std::string human_trace_event(const json& e) {
    const bool in = e.value("direction", "") == "in";
    const std::string local = text_of(e, "local"), remote = text_of(e, "remote");
    std::string out = text_of(e, "time") + (in ? "  IN  " : "  OUT ") + text_of(e, "transport") +
                      " " + (in ? remote : local) + " -> " + (in ? local : remote) + "  (" +
                      std::to_string(e.value("size", 0)) + " bytes)\n";
    std::string_view message;
    if (auto it = e.find("message"); it != e.end() && it->is_string())
        message = it->get_ref<const std::string&>();
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
        message.remove_suffix(1);
    while (!message.empty()) {
        auto eol = message.find('\n');
        auto line = message.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out += printable(line) + '\n';
        if (eol == std::string_view::npos) break;
        message.remove_prefix(eol + 1);
    }
    return out + '\n';
}

void trace(ControlClient& client, const json& args, bool json_out, std::ostream& out) {
    catch_stop_signals();
    const json result = client.result("trace", args);
    if (!json_out)
        std::cerr << "tracing " << describe_filter(result.value("filter", json::object()))
                  << " (Ctrl-C to stop)\n";
    while (auto line = client.next_line(interrupted)) {
        json item;
        try {
            item = json::parse(*line);
        } catch (const json::parse_error&) {
            throw BadReply("a trace line from sipproxyd is not JSON");
        }
        if (json_out) {
            out << json_text(item, -1) << '\n';
        } else if (item.contains("dropped")) {
            out << "-- " << item["dropped"].dump()
                << " messages dropped (this trace could not keep up; narrow it with "
                   "--call-id, --user or --source) --\n\n";
        } else {
            out << human_trace_event(item);
        }
        out.flush();
    }
}

}  // namespace sipproxyctl

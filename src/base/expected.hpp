#pragma once
// A minimal std::expected stand-in (g++ 12 has no <expected>): errors a peer can cause
// are values, not exceptions.
#include <utility>
#include <variant>

namespace sipproxy {

template <class E>
struct Unexpected {
    E error;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

template <class T, class E>
class Expected {
public:
    Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    template <class U>
    Expected(Unexpected<U> e) : v_(std::in_place_index<1>, E(std::move(e.error))) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const& { return std::get<1>(v_); }
    E& error() & { return std::get<1>(v_); }

private:
    std::variant<T, E> v_;
};

}  // namespace sipproxy

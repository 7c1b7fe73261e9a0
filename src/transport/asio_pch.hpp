// Precompiled header for the modules that use Asio (see CMakeLists.txt).
#pragma once
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

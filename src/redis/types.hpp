#pragma once
// The redis layer's executor alias (STYLE.md 7). It mirrors net/types.hpp, which this layer
// must not include (net sits above cluster, which will sit above redis).
#include <boost/asio/any_io_executor.hpp>

namespace tandem::redis {

namespace asio = boost::asio;
using Executor = asio::any_io_executor;

}  // namespace tandem::redis

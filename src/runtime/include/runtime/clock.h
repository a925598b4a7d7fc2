// The runtime's names for kube's injected clock (kube/clock.h), which every time-dependent class
// in the runtime takes instead of reading std::chrono clocks. Tests use kube::testing::FakeClock
// (test/support/fake_clock.h).
#pragma once

#include "kube/clock.h"

namespace kube::runtime {

using kube::Clock;
using kube::Duration;
using kube::MonoTime;
using kube::RealClock;
using kube::realClock;
using kube::WallTime;

}  // namespace kube::runtime

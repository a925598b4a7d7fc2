// Secrets made by the controller: random bytes from OpenSSL's CSPRNG.
#pragma once

#include <cstddef>
#include <string>

namespace aphex {

// `bytes` random bytes, hex-encoded (2 × bytes characters). Aborts if the CSPRNG fails, which
// only happens when the system has no entropy source: no secret is better than a weak one.
std::string randomHex(std::size_t bytes);

}  // namespace aphex

// FNV-1a, 64 bits: the project's one non-cryptographic hash (config hashes of checkpoints and
// results files, the digest of training checkpoints, shard and tensor-shape fingerprints). The
// same in every process and build, unlike std::hash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace jointflow {

constexpr uint64_t kFnv1aPrime = 1099511628211ull;
// FNV's 64-bit offset basis.
constexpr uint64_t kFnv1aOffsetBasis = 14695981039346656037ull;
// The start of every config hash since the first release: 1469598103934665603, FNV's offset
// basis with its last digit missing. Kept on purpose: another start would change every config
// hash, and checkpoints and partial files written before could no longer be resumed or merged.
constexpr uint64_t kConfigHashBasis = 1469598103934665603ull;

// FNV-1a of `bytes`, from `basis`.
inline uint64_t fnv1a(const std::string& bytes, uint64_t basis = kFnv1aOffsetBasis) {
  uint64_t hash = basis;
  for (const char byte : bytes) hash = (hash ^ static_cast<unsigned char>(byte)) * kFnv1aPrime;
  return hash;
}

// One 64-bit word folded into an FNV-1a state (fingerprints of integer sequences).
inline uint64_t fnv1a_word(uint64_t hash, uint64_t word) { return (hash ^ word) * kFnv1aPrime; }

// The config hash of `text` (its options as "key=value;…"): 16 lower-case hex digits.
inline std::string config_hash(const std::string& text) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(fnv1a(text, kConfigHashBasis)));
  return hex;
}

}  // namespace jointflow

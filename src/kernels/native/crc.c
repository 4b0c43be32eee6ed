/* CRC-32 as zlib computes it (reflected polynomial 0xEDB88320, initial value and final xor
 * 0xFFFFFFFF), for the checkpoint reader (src/checkpoint/crc32.ts): a start that has loaded
 * this addon checks its weights' CRC here instead of loading node:zlib for it.
 *
 *   crc32(bytes, previous) → the CRC of `bytes` (a Uint8Array), continuing from `previous`
 *
 * It is defined only on x86-64 CPUs with PCLMULQDQ; elsewhere crc32.ts uses zlib.
 *
 * The method is folding (Gopal et al., Intel, 2009). A message M is a polynomial over GF(2)
 * and its CRC is a function of M mod P alone, so any leading part of M can be replaced by
 * a shorter polynomial congruent to it. The running value is four 128-bit registers over
 * the first 64 bytes (the initial CRC xored into its first 4 bytes). Each next 64 bytes:
 * every register X = H·x^64 + L moves D = 512 bits on as H·(x^(64+D) mod P) + L·(x^D mod P),
 * two 64x32-bit carry-less products, plus the 16 new bytes it lines up with. The four then
 * fold into one (D = 128), as do the remaining 16-byte blocks, and the last 16 bytes of
 * register and the tail of the message go through the byte table. In the reflected bit
 * order (a byte's bit 0 is its highest power) the low half of a register is H, and a
 * carry-less product of two reflected values comes out multiplied by x, so the constants
 * are x^(63+D) and x^(D−1) mod P; they are computed at load. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#include "args.h"
#include "crc.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RNN_CRC_FOLD 1
#endif

#ifdef RNN_CRC_FOLD
static uint32_t table[256];
static __m128i k512, k128;

/* the register after bytes p[0:n], from register r (no inversions), a byte at a time */
static uint32_t crc_bytes(uint32_t r, const unsigned char *p, size_t n) {
  while (n--) r = (r >> 8) ^ table[(r ^ *p++) & 0xff];
  return r;
}

/* x^n mod P (P = x^32 + 0x04C11DB7's terms) as a reflected 64-bit value: x^j at bit 63 − j */
static uint64_t xpow_reflected(unsigned n) {
  uint64_t r = 1;
  for (unsigned i = 0; i < n; i++) {
    r <<= 1;
    if (r >> 32) r ^= 0x104c11db7ull;
  }
  uint64_t out = 0;
  for (int j = 0; j < 32; j++) if (r >> j & 1) out |= 1ull << (63 - j);
  return out;
}

static void crc_init(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  /* low lane: H's constant x^(63+D); high lane: L's x^(D−1) */
  k512 = _mm_set_epi64x((long long)xpow_reflected(511), (long long)xpow_reflected(575));
  k128 = _mm_set_epi64x((long long)xpow_reflected(127), (long long)xpow_reflected(191));
}

__attribute__((target("pclmul,sse2"))) static inline __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

#define LOAD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

/* the register after bytes p[0:n], from register r */
__attribute__((target("pclmul,sse2"))) static uint32_t crc_fold(uint32_t r, const unsigned char *p, size_t n) {
  if (n < 64) return crc_bytes(r, p, n);
  __m128i x0 = _mm_xor_si128(LOAD(p), _mm_cvtsi32_si128((int)r)), x1 = LOAD(p + 16), x2 = LOAD(p + 32), x3 = LOAD(p + 48);
  for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
    x0 = _mm_xor_si128(fold(x0, k512), LOAD(p));
    x1 = _mm_xor_si128(fold(x1, k512), LOAD(p + 16));
    x2 = _mm_xor_si128(fold(x2, k512), LOAD(p + 32));
    x3 = _mm_xor_si128(fold(x3, k512), LOAD(p + 48));
  }
  __m128i x = _mm_xor_si128(fold(x0, k128), x1);
  x = _mm_xor_si128(fold(x, k128), x2);
  x = _mm_xor_si128(fold(x, k128), x3);
  for (; n >= 16; p += 16, n -= 16) x = _mm_xor_si128(fold(x, k128), LOAD(p));
  unsigned char last[16];
  _mm_storeu_si128((__m128i *)(void *)last, x);
  return crc_bytes(crc_bytes(0, last, 16), p, n);
}

/* crc32(bytes, previous) */
static napi_value js_crc32(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  size_t length = 0;
  uint32_t previous = 0;
  if (argc < 2 || !rnn_typed_array(env, argv[0], napi_uint8_array, &data, &length) ||
      napi_get_value_uint32(env, argv[1], &previous) != napi_ok) {
    napi_throw_type_error(env, NULL, "native crc32: (bytes: Uint8Array, previous: number) expected");
    return NULL;
  }
  napi_value out;
  CHECK(napi_create_uint32(env, ~crc_fold(~previous, (const unsigned char *)data, length), &out));
  return out;
}
#endif

napi_status rnn_crc_define(napi_env env, napi_value exports) {
#ifdef RNN_CRC_FOLD
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("pclmul")) return napi_ok;
  crc_init();
  napi_property_descriptor props[] = {{"crc32", NULL, js_crc32, NULL, NULL, NULL, napi_default, NULL}};
  return napi_define_properties(env, exports, 1, props);
#else
  (void)env;
  (void)exports;
  return napi_ok;
#endif
}

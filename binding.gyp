{
  "targets": [
    {
      "target_name": "rnn_native",
      "sources": [
        "src/kernels/native/addon.c",
        "src/kernels/native/args.c",
        "src/kernels/native/cpu.c",
        "src/kernels/native/crc.c",
        "src/kernels/native/pool.c",
        "src/kernels/native/gemm_generic.c",
        "src/kernels/native/ops.c",
        "src/kernels/native/step.c",
        "src/kernels/native/sweep.c",
        "src/kernels/native/cells_generic.c"
      ],
      "conditions": [
        ["target_arch==\"x64\"", {
          "sources": [
            "src/kernels/native/gemm_avx2.c",
            "src/kernels/native/gemm_avx512.c",
            "src/kernels/native/cells_avx2.c",
            "src/kernels/native/cells_avx512.c"
          ]
        }],
        ["target_arch==\"arm64\"", {
          "sources": [
            "src/kernels/native/gemm_neon.c",
            "src/kernels/native/cells_neon.c"
          ]
        }]
      ],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-strict-aliasing", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"],
      "libraries": ["-lm"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-strict-aliasing"] },
      "defines": ["_POSIX_C_SOURCE=200809L"]
    }
  ]
}

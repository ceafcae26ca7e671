{
  "targets": [
    {
      "target_name": "sebridge_native",
      "sources": [
        "native/addon.c",
        "native/napi_util.c",
        "native/checksum.c",
        "native/rx_fixup.c",
        "native/frame_channel.c",
        "native/heap_trim.c",
        "native/thread_policy.c",
        "native/channel_io.c",
        "native/codel.c",
        "native/path_aqm.c",
        "native/tx_coalesce.c",
        "native/link_monitor.c",
        "native/packet_socket.c",
        "native/tap_device.c",
        "native/netdev.c",
        "native/ethtool_features.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-pthread"],
      "ldflags": ["-pthread"],
      "libraries": ["-lm"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}

//! `type` of `BPF_ENABLE_STATS` (`enum bpf_stats_type`), by kernel name without `BPF_STATS_`.

c_values! { u32;
    /// Count each program's runs and time spent (`run_cnt`, `run_time_ns` of its info).
    "BPF_STATS_RUN_TIME" => RUN_TIME = 0;
}

// A map-in-map declared without `__array(values, ...)` compiles: the inner map is given before
// load with `set_inner_map` (the loader fails naming the map when none is given).
lskel::bpf_skeleton!("objects/inner_without_values.bpf.o");

fn main() {
    let mut open = inner_without_values::open();
    let any_fd = std::fs::File::open("/dev/null").unwrap();
    open.maps.outer.set_inner_map(&any_fd).unwrap();
    open.maps.outer.set_max_entries(8);
    assert_eq!(open.maps.outer.max_entries(), 8);
}

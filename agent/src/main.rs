//! `nodecheck`: see the library's documentation and `nodecheck --help`.

fn main() {
    std::process::exit(nodecheck::cli::main());
}

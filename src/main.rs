//! The `escucha` binary: everything lives in the library (`escucha::cli`).

fn main() -> std::process::ExitCode {
    escucha::cli::main()
}

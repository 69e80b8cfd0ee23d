//! `skygroup-sim`: the simulator's command line (see `skygroup_sim::cli`).

fn main() {
    // Failing runs panic on purpose (deadlock reports); the CLI prints them itself.
    std::panic::set_hook(Box::new(|_| {}));
    let status = skygroup_sim::cli::run_from(std::env::args(), &mut std::io::stdout());
    std::process::exit(status);
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

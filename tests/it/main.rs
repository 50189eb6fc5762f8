mod cli;
mod crash;

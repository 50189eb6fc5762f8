mod cli;
mod cloud;
mod crash;
mod pg;
mod rls;

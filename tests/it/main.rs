mod cloud;
mod pg;
mod rls;

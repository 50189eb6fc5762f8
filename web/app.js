// The hub's web UI entry module: everything lives in ./js/ (see js/main.js).
import "./js/main.js";

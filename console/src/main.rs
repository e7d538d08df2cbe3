fn main() {
    examfee_console::mount();
}

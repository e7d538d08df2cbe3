fn main() {
    examfee_web::mount();
}
